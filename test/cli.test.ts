import test from 'ava';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { runVisor, visorAt, type CliOptions } from './helpers/cli.ts';
import { randomFile, sha256, storedFile, unique } from './helpers/images.ts';
import type { ImageBrief, ImageView } from '../src/index.ts';

let daemon: TestDaemon;
let scratch: string;

test.before(async () => {
  daemon = await startTestDaemon();
  scratch = await mkdtemp(join(tmpdir(), 'visor-cli-test-'));
});

test.after.always(async () => {
  await daemon?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const visor = (args: string[], options?: CliOptions) => visorAt(daemon).run(args, options);
const visorJson = <T>(args: string[], options?: CliOptions) => visorAt(daemon).json<T>(args, options);
const imageFile = (bytes = 50_000) => randomFile(scratch, bytes);

async function addWithFile(extra: string[] = []): Promise<{ image: ImageView; content: Buffer }> {
  const { path, content } = await imageFile();
  const image = await visorJson<ImageView>(['add', '--name', unique('image'), '--file', path, ...extra]);
  return { image, content };
}

// Serial: it sets variables in this process, which no concurrent test should see.
test.serial("the tests' own environment does not reach the CLI: a VISOR_TOKEN set here is not used", async (t) => {
  process.env['VISOR_TOKEN'] = daemon.token;
  try {
    const run = await runVisor(['add', '--name', unique('leak')], { env: { VISOR_URL: daemon.url } });
    t.is(run.code, 5, 'no token: the one in this process stayed here');
  } finally {
    delete process.env['VISOR_TOKEN'];
  }
});

test('add --file registers and uploads in one step', async (t) => {
  const { path, content } = await imageFile(1024 * 1024);
  const image = await visorJson<ImageView>([
    'add', '--name', 'Ubuntu 24.04', '--arch', 'x86_64', '--disk', 'raw', '--access', 'public',
    '--tag', 'lts', '--tag', 'cloud', '--property', 'os=linux', '--min-ram', '512', '--file', path,
  ]);
  t.is(image.status, 'available');
  t.is(image.size, content.length);
  t.is(image.checksum, sha256(content));
  t.deepEqual(image.tags, ['lts', 'cloud']);
  t.deepEqual(image.properties, { os: 'linux' });
  t.is(image.min_ram, 512);
  t.is(image.access, 'public');
});

test('add --file with a file that cannot be read registers nothing and exits 2', async (t) => {
  const name = unique('unreadable');
  const run = await visor(['add', '--name', name, '--file', join(scratch, 'no-such-file.raw')]);
  t.is(run.code, 2);
  t.regex(run.stderr, /^visor: cannot read .*no-such-file\.raw/m);
  t.deepEqual((await visorJson<{ images: ImageBrief[] }>(['list', `name=${name}`])).images, []);
});

test('upload reads the file from stdin with -', async (t) => {
  const created = await visorJson<ImageView>(['add', '--name', unique('stdin')]);
  const content = randomBytes(70_000);
  const image = await visorJson<ImageView>(['upload', created.id, '-'], { stdin: content });
  t.is(image.checksum, sha256(content));
});

test('list filters with field=value arguments; a repeated field means any of them', async (t) => {
  const series = unique('list');
  await visorJson(['add', '--name', 'arm', '--series', series, '--arch', 'aarch64', '--tag', 'edge']);
  await visorJson(['add', '--name', 'x86', '--series', series, '--arch', 'x86_64']);
  await visorJson(['add', '--name', 'ppc', '--series', series, '--arch', 'ppc64le']);

  const names = async (...filters: string[]) =>
    (await visorJson<{ images: ImageBrief[] }>(['list', `series=${series}`, ...filters, '--sort', 'name', '--dir', 'asc'])).images.map(
      (i) => i.name,
    );
  t.deepEqual(await names('architecture=aarch64'), ['arm']);
  t.deepEqual(await names('architecture=aarch64', 'architecture=x86_64'), ['arm', 'x86']);
  t.deepEqual(await names('tag=edge'), ['arm']);
  t.deepEqual(await names(), ['arm', 'ppc', 'x86']);
});

test('list --all follows pages; without it a person is told there are more', async (t) => {
  const series = unique('pages');
  for (const name of ['a', 'b', 'c']) await visorJson(['add', '--name', name, '--series', series]);

  const firstPage = await visor(['list', `series=${series}`, '--limit', '2']);
  t.is(firstPage.code, 0);
  t.regex(firstPage.stdout, /ID.*NAME/);
  t.regex(firstPage.stderr, /more images/);

  const all = await visorJson<{ images: ImageBrief[] }>(['list', `series=${series}`, '--limit', '2', '--all']);
  t.is(all.images.length, 3);
});

test('detail lists whole records', async (t) => {
  const series = unique('detail');
  const image = await visorJson<ImageView>(['add', '--name', 'full', '--series', series, '--description', 'Notes']);
  const detail = await visorJson<{ images: ImageView[] }>(['detail', `series=${series}`]);
  t.is(detail.images[0]?.created_at, image.created_at);
  t.is(detail.images[0]?.description, 'Notes');
});

test('show prints JSON for scripts and key/value lines for people', async (t) => {
  const { image } = await addWithFile(['--property', 'os=linux']);
  t.deepEqual((await visorJson<ImageView>(['show', image.id])).id, image.id);

  const forPeople = await visor(['show', image.id]);
  t.is(forPeople.code, 0);
  t.regex(forPeople.stdout, new RegExp(`^id\\s+${image.id}$`, 'm'));
  t.regex(forPeople.stdout, /^status\s+available$/m);
  t.regex(forPeople.stdout, /^property\.os\s+linux$/m);
});

test('update parses values by schema type: integers, comma-separated tags, property.k, empty removes', async (t) => {
  const created = await visorJson<ImageView>([
    'add', '--name', unique('update'), '--description', 'old', '--property', 'os=linux', '--property', 'keep=yes',
  ]);
  const updated = await visorJson<ImageView>([
    'update', created.id, 'min_ram=2048', 'tags=lts, cloud', 'property.os=bsd', 'property.keep=', 'description=', 'series=next',
  ]);
  t.is(updated.min_ram, 2048);
  t.deepEqual(updated.tags, ['lts', 'cloud']);
  t.deepEqual(updated.properties, { os: 'bsd' });
  t.is(updated.description, undefined);
  t.is(updated.series, 'next');
});

test('update rejects a value that is not of the field type, or a read-only field, as invalid input (2)', async (t) => {
  const created = await visorJson<ImageView>(['add', '--name', unique('typed')]);
  const notInteger = await visor(['update', created.id, 'min_ram=lots']);
  t.is(notInteger.code, 2);
  t.regex(notInteger.stderr, /^visor: min_ram: expected an integer/m);
  t.is((await visor(['update', created.id, 'size=1'])).code, 2);
  t.is((await visor(['update', created.id, 'no_such_field=1'])).code, 2);
});

test('delete removes the image; showing it afterwards exits 3', async (t) => {
  const { image } = await addWithFile();
  const deleted = await visorJson<ImageView>(['delete', image.id]);
  t.is(deleted.id, image.id);
  t.is((await visor(['show', image.id])).code, 3);
});

test('download verifies the file and saves it as ./<name> by default', async (t) => {
  const { image, content } = await addWithFile();
  const cwd = await mkdtemp(join(scratch, 'cwd-'));
  const run = await visor(['download', image.id], { cwd });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /verified/);
  t.true((await readFile(join(cwd, image.name))).equals(content));

  // An existing file is not overwritten unless asked.
  t.is((await visor(['download', image.id], { cwd })).code, 1);
  t.is((await visor(['download', image.id, '--force'], { cwd })).code, 0);
});

test('download - writes the bytes to stdout and the summary to stderr', async (t) => {
  const { image, content } = await addWithFile();
  const run = await visor(['download', image.id, '-']);
  t.is(run.code, 0, run.stderr);
  t.true(run.stdoutBytes.equals(content));
  t.regex(run.stderr, /verified/);
});

test('download exits 6 and leaves no file when the digest does not match', async (t) => {
  const { image, content } = await addWithFile();
  const corrupt = Buffer.from(content);
  corrupt[0] = (corrupt[0] ?? 0) ^ 0xff;
  await writeFile(await storedFile(daemon.dataDir, image), corrupt);

  const cwd = await mkdtemp(join(scratch, 'mismatch-'));
  const run = await visor(['download', image.id, 'disk.raw'], { cwd });
  t.is(run.code, 6);
  t.regex(run.stderr, /^visor: digest mismatch/m);
  t.deepEqual(await readdir(cwd), []);
});

test('latest shows the newest available image of a series', async (t) => {
  const series = unique('series');
  await addWithFile(['--series', series]);
  const { image: newest } = await addWithFile(['--series', series]);
  t.is((await visorJson<ImageView>(['latest', series])).id, newest.id);
});

test('exit codes: not found 3, invalid 2, usage 2, conflict 4, unreachable 1', async (t) => {
  const missing = await visor(['show', '00000000-0000-4000-8000-000000000000']);
  t.is(missing.code, 3);
  t.regex(missing.stderr, /^visor: /);

  const invalid = await visor(['add', '--name', unique('bad'), '--arch', 'vax', '--disk', 'floppy']);
  t.is(invalid.code, 2);
  // One indented line per field problem.
  t.regex(invalid.stderr, /^ {2}architecture: /m);
  t.regex(invalid.stderr, /^ {2}disk: /m);

  t.is((await visor(['add'])).code, 2, 'missing --name');
  t.is((await visor(['add', '--name', 'x', '--min-ram', 'many'])).code, 2);
  t.is((await visor(['no-such-command'])).code, 2);

  const { image } = await addWithFile();
  const { path } = await imageFile();
  t.is((await visor(['upload', image.id, path])).code, 4, 'a second upload conflicts');

  const down = await visor(['list'], { env: { VISOR_URL: 'http://127.0.0.1:9' } });
  t.is(down.code, 1);
  t.regex(down.stderr, /^visor: request to http:\/\/127\.0\.0\.1:9\/images failed/m);
});

test('writing without a token exits 5 and says where a token can come from', async (t) => {
  const run = await visor(['add', '--name', unique('anonymous')], { env: { VISOR_TOKEN: undefined } });
  t.is(run.code, 5);
  t.regex(run.stderr, /no token found/);

  const wrong = await visor(['add', '--name', unique('wrong')], { env: { VISOR_TOKEN: 'not-the-token' } });
  t.is(wrong.code, 5);
});

test('--url and --token flags take precedence over the environment', async (t) => {
  const run = await visor(['--url', daemon.url, '--token', daemon.token, '--json', 'add', '--name', unique('flags')], {
    env: { VISOR_URL: 'http://127.0.0.1:9', VISOR_TOKEN: 'not-the-token' },
  });
  t.is(run.code, 0, run.stderr);
});

test('the config file supplies url and token, but a token in a file others can read is refused', async (t) => {
  const home = await mkdtemp(join(scratch, 'config-home-'));
  const configDir = join(home, '.config', 'visor');
  await mkdir(configDir, { recursive: true });
  const configFile = join(configDir, 'config.json');
  await writeFile(configFile, JSON.stringify({ url: daemon.url, token: daemon.token }));
  const env = { HOME: home, VISOR_URL: undefined, VISOR_TOKEN: undefined };

  await chmod(configFile, 0o644);
  const refused = await visor(['add', '--name', unique('config')], { env });
  t.is(refused.code, 5);
  t.regex(refused.stderr, /readable by group or others.*chmod 600/);

  await chmod(configFile, 0o600);
  t.is((await visor(['--json', 'add', '--name', unique('config')], { env })).code, 0);
});

test("on the daemon's host the admin-token file is used when no token is given", async (t) => {
  // The admin token goes only to the address the daemon's configuration names (here its VISOR_PORT).
  const run = await visor(['--json', 'add', '--name', unique('admin-token')], {
    env: { VISOR_TOKEN: undefined, VISOR_DATA_DIR: daemon.dataDir, VISOR_PORT: new URL(daemon.url).port },
  });
  t.is(run.code, 0, run.stderr);
});

test('catalog init creates a catalogue that validates; a broken record exits 1 with FILE: field: message', async (t) => {
  const dir = join(scratch, unique('catalog'));
  t.is((await visor(['catalog', 'init', dir])).code, 0);
  const valid = await visor(['catalog', 'validate', dir]);
  t.is(valid.code, 0, valid.stderr);

  const id = '0123abcd-0000-4000-8000-000000000000';
  await mkdir(join(dir, 'images', '01'), { recursive: true });
  await writeFile(join(dir, 'images', '01', `${id}.json`), JSON.stringify({ id, name: 'broken', architecture: 'vax' }));
  const invalid = await visor(['catalog', 'validate', dir]);
  t.is(invalid.code, 1);
  t.regex(invalid.stdout, new RegExp(`^images/01/${id}\\.json: architecture: `, 'm'));
});

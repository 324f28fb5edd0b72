import test from 'ava';
import { mkdtemp, mkdir, readFile, writeFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startTestDaemon } from './helpers/daemon.ts';
import { jsonRequest, authed } from './helpers/http.ts';
import { git, imageRecord, statusWhenSettled, writeRecordFile } from './helpers/gitRepos.ts';
import { createImage } from './helpers/images.ts';
import { configureCatalogRepo, initCatalog } from '../src/catalog/CatalogRepo.ts';
import { validateCatalog } from '../src/catalog/CatalogValidator.ts';

test('catalog init creates a git repository with a README, the catalogue config and one commit', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'visor-cat-')), 'catalog');
  await initCatalog(dir);
  t.is(git(dir, 'rev-list', '--count', 'HEAD').trim(), '1');
  t.is(git(dir, 'branch', '--show-current').trim(), 'main');
  t.deepEqual(JSON.parse(await readFile(join(dir, 'visor-catalog.json'), 'utf8')).schema_version, 1);
  t.regex(await readFile(join(dir, 'README.md'), 'utf8'), /pull request/);
  await t.throwsAsync(initCatalog(dir), { message: /already a git repository/ });
});

test('a daemon serves a catalogue written directly, and reloads its own writes after a restart', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-cat-'));
  const catalog = join(dataDir, 'catalog');
  await initCatalog(catalog);
  const ids = Array.from({ length: 50 }, () => randomUUID());
  for (const id of ids) await writeRecordFile(catalog, imageRecord({ id }));
  git(catalog, 'add', '-A');
  git(catalog, 'commit', '-qm', 'publish 50 images');

  const d = await startTestDaemon({ dataDir });
  const listed = (await (await fetch(`${d.url}/images?limit=1000`)).json()) as { images: { id: string }[] };
  t.deepEqual(listed.images.map((i) => i.id).sort(), [...ids].sort());
  const added = await createImage(d, d.token, { name: 'added', access: 'public' });

  const again = await d.restart();
  const after = (await (await fetch(`${again.url}/images?limit=1000`)).json()) as { images: { id: string }[] };
  t.is(after.images.length, 51);
  t.true(after.images.some((i) => i.id === added));
  await again.stop();
});

test('an image found in both catalogues (a move cut short) is served from the private one', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-cat-'));
  const shared = join(dataDir, 'catalog');
  const priv = join(dataDir, 'private-catalog');
  const id = randomUUID();
  const other = randomUUID();
  for (const [dir, record] of [
    [shared, imageRecord({ id, name: 'shared-copy' })],
    [priv, imageRecord({ id, name: 'private-copy', access: 'private' })],
  ] as const) {
    await initCatalog(dir);
    await writeRecordFile(dir, record);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'the same image');
  }
  await writeRecordFile(shared, imageRecord({ id: other, name: 'other' }));
  git(shared, 'add', '-A');
  git(shared, 'commit', '-qm', 'another');

  const d = await startTestDaemon({ dataDir });
  try {
    const seen = (await (await fetch(`${d.url}/images/${id}`, authed(d.token))).json()) as { name: string; access: string };
    t.like(seen, { name: 'private-copy', access: 'private' });
    t.is((await fetch(`${d.url}/images/${id}`)).status, 404, 'never exposed by the shared copy');
    const listed = (await (await fetch(`${d.url}/images?limit=1000`, authed(d.token))).json()) as { images: { id: string; name: string }[] };
    t.deepEqual(listed.images.map((i) => i.name).sort(), ['other', 'private-copy']);
  } finally {
    await d.stop();
  }
});

test('invalid or misplaced catalogue files are skipped, reported, and the rest is served', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-cat-'));
  const catalog = join(dataDir, 'catalog');
  await initCatalog(catalog);
  const good = randomUUID();
  await writeRecordFile(catalog, imageRecord({ id: good }));
  const bad = randomUUID();
  await writeRecordFile(catalog, imageRecord({ id: bad, disk: 'floppy' }));
  const misplaced = randomUUID();
  await writeRecordFile(catalog, imageRecord({ id: misplaced }), `images/00/${misplaced}.json`);
  await mkdir(join(catalog, 'images', 'zz'), { recursive: true });
  await writeFile(join(catalog, 'images', 'zz', 'broken.json'), '{ not json');
  git(catalog, 'add', '-A');
  git(catalog, 'commit', '-qm', 'mixed');

  const problems = await validateCatalog(catalog);
  t.deepEqual(problems.map((p) => [p.file.split('/').slice(0, 2).join('/'), p.field, p.rule]).sort(), [
    ['images/00', 'id', 'placement'],
    [`images/${bad.slice(0, 2)}`, 'disk', 'enum'],
    ['images/zz', '(file)', 'json'],
  ].sort());

  const d = await startTestDaemon({ dataDir });
  const listed = (await (await fetch(`${d.url}/images`)).json()) as { images: { id: string }[] };
  t.deepEqual(listed.images.map((i) => i.id), [good]);
  const health = (await (await fetch(`${d.url}/health`, authed(d.token))).json()) as { catalog: { invalid_files: number } };
  t.is(health.catalog.invalid_files, 3);
  await d.stop();
});

test('validation catches dangling kernel references and per-instance fields in files', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'visor-cat-')), 'catalog');
  await initCatalog(dir);
  const notKernel = randomUUID();
  await writeRecordFile(dir, imageRecord({ id: notKernel }));
  const vm = randomUUID();
  await writeRecordFile(dir, imageRecord({ id: vm, kernel: notKernel, ramdisk: randomUUID() }));
  const counted = randomUUID();
  await writeRecordFile(dir, imageRecord({ id: counted, access_count: 3 }));
  const problems = await validateCatalog(dir);
  t.deepEqual(problems.map((p) => [p.field, p.rule]).sort(), [['access_count', 'instance-field'], ['kernel', 'reference'], ['ramdisk', 'reference']]);
});

test('writes that queue up are committed together, each commit naming its author, none lost', async (t) => {
  const d = await startTestDaemon();
  const catalog = join(d.dataDir, 'catalog');
  const before = Number(git(catalog, 'rev-list', '--count', 'HEAD'));
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: `batch-${i}`, access: 'public' }))));
  t.true(results.every((r) => r.status === 201));
  const commits = Number(git(catalog, 'rev-list', '--count', 'HEAD')) - before;
  t.true(commits < 40, `40 creates took ${commits} commits`);
  t.is(git(catalog, 'ls-tree', '-r', '--name-only', 'HEAD', 'images').trim().split('\n').filter((f) => f.endsWith('.json')).length, 40);
  t.deepEqual([...new Set(git(catalog, 'log', `-${commits}`, '--format=%an').trim().split('\n'))], ['admin']);
  t.is(await statusWhenSettled(catalog), '', 'the index catches up with the commits once writes pause');
  await d.stop();
});

test('a commit that cannot be made answers 503 and leaves no half-written file or broken commit', async (t) => {
  const d = await startTestDaemon();
  const catalog = join(d.dataDir, 'catalog');
  // Someone moves the branch behind the daemon's back: its compare-and-swap must refuse to overwrite.
  git(catalog, 'commit', '-q', '--allow-empty', '-m', 'outside change');
  const outside = git(catalog, 'rev-parse', 'HEAD').trim();
  const res = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'lost?', access: 'public' }));
  t.is(res.status, 503);
  t.is(git(catalog, 'rev-parse', 'HEAD').trim(), outside, 'the outside commit is intact');
  t.is(git(catalog, 'status', '--porcelain').trim(), '', 'no stray file in the working tree or index');
  const listed = (await (await fetch(`${d.url}/images?limit=1000`, authed(d.token))).json()) as { images: unknown[] };
  t.is(listed.images.length, 0);
  await d.stop();
});

test('an upload interrupted by a stop is marked error at the next start, so it can be retried', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-cat-'));
  const catalog = join(dataDir, 'catalog');
  await initCatalog(catalog);
  const id = randomUUID();
  await writeRecordFile(catalog, imageRecord({ id, status: 'uploading', owner: 'admin', store: 'fs', size: undefined, checksum: undefined }));
  git(catalog, 'add', '-A');
  git(catalog, 'commit', '-qm', 'crashed mid-upload');
  const d = await startTestDaemon({ dataDir });
  const r = (await (await fetch(`${d.url}/images/${id}`)).json()) as { status: string };
  t.is(r.status, 'error');
  t.is((await fetch(`${d.url}/images/${id}/file`, authed(d.token, { method: 'PUT', body: 'retry' }))).status, 200);
  await d.stop();
});

test('image files spread over shard folders named by the first two characters of their id', async (t) => {
  const d = await startTestDaemon();
  const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => createImage(d, d.token, { name: `s${i}`, access: 'public' })));
  const shards = (await readdir(join(d.dataDir, 'catalog', 'images'))).filter((s) => s !== '.gitkeep');
  const files: string[] = [];
  for (const shard of shards) {
    t.regex(shard, /^[0-9a-f]{2}$/);
    for (const f of await readdir(join(d.dataDir, 'catalog', 'images', shard))) files.push(`${shard}/${f}`);
  }
  t.deepEqual(files.sort(), ids.map((id) => `${id.slice(0, 2)}/${id}.json`).sort(), 'each image in the shard of its id, and nothing else');
  t.true(shards.length > 20, 'spread over many folders');
  await d.stop();
});

test('the admin token is created once with owner-only permissions and kept across restarts', async (t) => {
  const d = await startTestDaemon();
  const file = join(d.dataDir, 'admin-token');
  t.is((await stat(file)).mode & 0o777, 0o600);
  t.is((await readFile(file, 'utf8')).trim(), d.token);
  const again = await d.restart();
  t.is(again.token, d.token);
  await again.stop();
});

test('after a restart the daemon sees every change made to the catalogue while it was stopped', async (t) => {
  const d = await startTestDaemon();
  const catalog = join(d.dataDir, 'catalog');
  const made = await Promise.all(['keep', 'edit', 'drop'].map((name) => createImage(d, d.token, { name, access: 'public' })));
  const [keep, edit, drop] = made as [string, string, string];
  await d.daemon.close();

  // While stopped: a publisher's commit adds one image and edits another, a second commit deletes one.
  const added = randomUUID();
  await writeRecordFile(catalog, imageRecord({ id: added, name: 'added-while-stopped' }));
  const editPath = join(catalog, 'images', edit.slice(0, 2), `${edit}.json`);
  const edited = JSON.parse(await readFile(editPath, 'utf8')) as Record<string, unknown>;
  await writeFile(editPath, `${JSON.stringify({ ...edited, name: 'edited-while-stopped' }, null, 2)}\n`);
  git(catalog, 'add', '-A');
  git(catalog, 'commit', '-qm', 'publisher changes');
  git(catalog, 'rm', '-q', `images/${drop.slice(0, 2)}/${drop}.json`);
  git(catalog, 'commit', '-qm', 'publisher removes one');

  const port = Number(new URL(d.url).port);
  const again = await startTestDaemon({ dataDir: d.dataDir, config: { server: { port } } });
  const names = ((await (await fetch(`${again.url}/images?sort=name&dir=asc`)).json()) as { images: { id: string; name: string }[] }).images;
  t.deepEqual(names.map((i) => i.name), ['added-while-stopped', 'edited-while-stopped', 'keep']);
  t.deepEqual(names.map((i) => i.id).sort(), [added, edit, keep].sort());
  await again.stop();
});

test('a damaged index snapshot is ignored and the catalogue scanned in full', async (t) => {
  const d = await startTestDaemon();
  await createImage(d, d.token, { name: 'survivor', access: 'public' });
  await d.daemon.close();
  await writeFile(join(d.dataDir, 'catalog-index.json'), '{"version": 1, "head": "0000000000000000000000000000000000000000", "records": [], "problems": []}');
  const port = Number(new URL(d.url).port);
  const again = await startTestDaemon({ dataDir: d.dataDir, config: { server: { port } } });
  const names = ((await (await fetch(`${again.url}/images`)).json()) as { images: { name: string }[] }).images.map((i) => i.name);
  t.deepEqual(names, ['survivor']);
  await again.stop();
  await writeFile(join(d.dataDir, 'catalog-index.json'), 'not json at all');
  const third = await startTestDaemon({ dataDir: d.dataDir, config: { server: { port } } });
  t.deepEqual(((await (await fetch(`${third.url}/images`)).json()) as { images: { name: string }[] }).images.map((i) => i.name), ['survivor']);
  await third.stop();
});

test('a clone\'s first start gives its repository the catalogue settings (a clone brings none), and a later start finds them set', async (t) => {
  const source = await mkdtemp(join(tmpdir(), 'visor-config-src-'));
  await initCatalog(source);
  const clone = await mkdtemp(join(tmpdir(), 'visor-config-clone-'));
  git(clone, 'clone', '-q', source, '.');
  const setting = (key: string) => {
    try {
      return git(clone, 'config', '--local', '--get', key).trim();
    } catch {
      return undefined;
    }
  };
  t.is(setting('merge.visor-json.driver'), undefined, 'git clone copies no repository settings');
  await configureCatalogRepo(clone);
  t.is(setting('core.fsync'), 'committed,index');
  t.is(setting('gc.auto'), '0');
  t.regex(setting('merge.visor-json.driver') ?? '', /catalog merge-driver %O %A %B %P$/);
  const before = await readFile(join(clone, '.git', 'config'), 'utf8');
  await configureCatalogRepo(clone);
  t.is(await readFile(join(clone, '.git', 'config'), 'utf8'), before, 'set already: nothing written again');
});

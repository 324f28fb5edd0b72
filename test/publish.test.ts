import test from 'ava';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { installHooks } from '../src/catalog/HookInstaller.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { git, tempDir, recordFile, readRecordFile } from './helpers/gitRepos.ts';

async function serverAndClone() {
  const root = await tempDir();
  await initCatalog(join(root, 'seed'));
  const server = join(root, 'server.git');
  git(root, 'clone', '-q', '--bare', join(root, 'seed'), server);
  await installHooks(server);
  const clone = join(root, 'clone');
  git(root, 'clone', '-q', server, clone);
  await installHooks(clone);
  const disk = join(root, 'disk.img');
  const bytes = randomBytes(300_000);
  await writeFile(disk, bytes);
  return { root, server, clone, disk, sha: createHash('sha256').update(bytes).digest('hex') };
}

const visor = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, ['src/cli/visor.ts', ...args, '--json'], { env: { ...process.env, ...env } });

test('publish to a store folder: the disk lands in the store, the metadata on a pushed branch the server accepted', async (t) => {
  const { root, server, clone, disk, sha } = await serverAndClone();
  const store = join(root, 'store');
  const out = JSON.parse((await visor(['publish', disk, '--name', 'cirros-0.6.2', '--arch', 'x86_64', '--disk', 'qcow2', '--series', 'cirros', '--repo', clone, '--store-dir', store, '--owner', 'pat'])).stdout) as { record: { id: string; checksum: string; size: number }; branch: string; pushed: boolean };
  t.is(out.record.checksum, `sha256:${sha}`);
  t.is(out.record.size, 300_000);
  t.true(out.pushed);
  const id = out.record.id;
  t.is(createHash('sha256').update(await readFile(join(store, id.slice(0, 2), id))).digest('hex'), sha);
  const onServer = JSON.parse(git(server, 'show', `${out.branch}:${recordFile(id)}`)) as Record<string, unknown>;
  t.like(onServer, { id, name: 'cirros-0.6.2', status: 'available', access: 'public', owner: 'pat', series: 'cirros', locations: [{ store: 'fs', key: id }] });
});

test('publish through a daemon: the daemon holds the file and the branch carries the same record', async (t) => {
  const { clone, disk, sha } = await serverAndClone();
  const d = await startTestDaemon();
  try {
    const { stdout } = await visor(['publish', disk, '--name', 'alpine-3.20', '--repo', clone, '--to-daemon', '--no-push'], { VISOR_URL: d.url, VISOR_TOKEN: d.token });
    const out = JSON.parse(stdout) as { record: { id: string }; pushed: boolean };
    t.false(out.pushed);
    const fromDaemon = (await (await fetch(`${d.url}/images/${out.record.id}`)).json()) as Record<string, unknown>;
    t.is(fromDaemon['checksum'], `sha256:${sha}`);
    const inClone = await readRecordFile(clone, out.record.id);
    for (const field of ['id', 'name', 'checksum', 'size', 'owner', 'created_at', 'uploaded_at']) t.deepEqual(inClone[field], fromDaemon[field], field);
    t.false('uri' in inClone);
  } finally {
    await d.stop();
  }
});

test('publish refuses what the catalogue rules refuse, before anything is pushed', async (t) => {
  const { root, clone, disk, server } = await serverAndClone();
  await t.throwsAsync(visor(['publish', disk, '--name', 'bad', '--arch', 'vax', '--repo', clone, '--store-dir', join(root, 'store')]), { message: /architecture/ });
  t.is(git(server, 'branch', '--list', 'publish/*').trim(), '');
  const { readdir } = await import('node:fs/promises');
  t.deepEqual(await readdir(join(root, 'store')).catch(() => []), [], 'no orphaned disk in the store');
});

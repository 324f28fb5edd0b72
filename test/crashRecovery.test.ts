/**
 * What a daemon finds after it was stopped without closing (kill -9, power loss): it starts again with
 * no manual step, serves exactly what it acknowledged, and sets aside (never serves, never loses) what
 * it did not.
 */
import test from 'ava';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';
import { spawnDaemon } from './helpers/daemonProcess.ts';
import { call } from './helpers/http.ts';
import { createImage, putFile, uploadFile } from './helpers/images.ts';
import { git, gitAsync, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';

test('locks that killed git processes left in both catalogues do not stop the next start', async (t) => {
  const d = await startTestDaemon();
  const before = await createImage(d, d.token, { name: 'before-the-crash', access: 'public' });
  const privateBefore = await createImage(d, d.token, { name: 'private-before', access: 'private' });
  const port = Number(new URL(d.url).port);
  await d.daemon.close();
  // What `kill -9` during a commit, an index update, a config write and a sync merge can leave.
  for (const catalog of ['catalog', 'private-catalog']) {
    const gitDir = join(d.dataDir, catalog, '.git');
    for (const file of ['index.lock', 'HEAD.lock', 'config.lock', 'packed-refs.lock', 'refs/heads/main.lock', 'visor-index-stale', 'visor-0a1b2c.tmp', 'objects/pack/tmp_pack_Xy12Ab']) await writeFile(join(gitDir, file), '');
  }

  const again = await startTestDaemon({ dataDir: d.dataDir, config: { server: { port } } });
  t.is((await call(again, again.token, 'GET', `/images/${before}`)).status, 200);
  t.is((await call(again, again.token, 'GET', `/images/${privateBefore}`)).status, 200);
  const after = await createImage(again, again.token, { name: 'after-the-crash', access: 'public' });
  const privateAfter = await createImage(again, again.token, { name: 'private-after', access: 'private' });
  t.is((await call(again, again.token, 'GET', `/images/${after}`)).status, 200);
  t.is((await call(again, again.token, 'GET', `/images/${privateAfter}`)).status, 200);
  await again.stop();
  for (const catalog of ['catalog', 'private-catalog']) {
    const dir = join(d.dataDir, catalog);
    t.false(existsSync(join(dir, '.git', 'index.lock')), `${catalog}: the stale index lock is gone`);
    t.false(existsSync(join(dir, '.git', 'refs', 'heads', 'main.lock')), `${catalog}: the stale branch lock is gone`);
    t.is((await gitAsync(dir, 'fsck', '--full', '--no-progress')).status, 0, `${catalog}: git fsck --full is clean`);
    t.is(git(dir, 'status', '--porcelain'), '', `${catalog}: the tree is the committed head`);
  }
});

test('files a crash left uncommitted are set aside for the operator and never served', async (t) => {
  const d = await startTestDaemon();
  const kept = await createImage(d, d.token, { name: 'committed', access: 'public', description: 'as acknowledged' });
  const gone = await createImage(d, d.token, { name: 'deleted-uncommitted', access: 'public' });
  const secret = await createImage(d, d.token, { name: 'private-committed', access: 'private' });
  const port = Number(new URL(d.url).port);
  await d.daemon.close();
  const shared = join(d.dataDir, 'catalog');
  const priv = join(d.dataDir, 'private-catalog');
  const path = (id: string) => join('images', id.slice(0, 2), `${id}.json`);
  // A record written but never committed (a create refused on a full disk, or cut by the crash).
  const phantom = imageRecord({ name: 'never-acknowledged', status: 'available' });
  await writeRecordFile(shared, phantom);
  // A committed record edited in the tree but not in a commit, in each catalogue; one deleted.
  for (const [dir, id] of [[shared, kept], [priv, secret]] as const) {
    const record = JSON.parse(await readFile(join(dir, path(id)), 'utf8')) as Record<string, unknown>;
    await writeFile(join(dir, path(id)), `${JSON.stringify({ ...record, description: 'never acknowledged' }, null, 2)}\n`);
  }
  git(shared, 'rm', '-q', '--cached', path(gone));
  await writeFile(join(shared, path(gone)), 'not even JSON');

  const again = await startTestDaemon({ dataDir: d.dataDir, config: { server: { port } } });
  t.is((await call(again, again.token, 'GET', `/images/${phantom.id}`)).status, 404, 'the uncommitted record is not served');
  t.is(((await call(again, again.token, 'GET', `/images/${kept}`)).json as Record<string, unknown>)['description'], 'as acknowledged');
  t.not(((await call(again, again.token, 'GET', `/images/${secret}`)).json as Record<string, unknown>)['description'], 'never acknowledged');
  t.is((await call(again, again.token, 'GET', `/images/${gone}`)).status, 200, 'the committed record is served as committed');
  // New writes go on from the committed head.
  const next = await createImage(again, again.token, { name: 'after-recovery', access: 'public' });
  t.is((await call(again, again.token, 'GET', `/images/${next}`)).status, 200);
  await again.stop();

  t.is(git(shared, 'status', '--porcelain'), '');
  t.is(git(priv, 'status', '--porcelain'), '');
  // Every stray file's content is kept, by catalogue, under the data directory (owner-only).
  const setAside = async (scope: string): Promise<Map<string, string>> => {
    const root = join(d.dataDir, 'strays', scope);
    const files = new Map<string, string>();
    for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
      if (entry.isFile()) files.set(join(entry.parentPath, entry.name).slice(root.length + 1).split('/').slice(1).join('/'), await readFile(join(entry.parentPath, entry.name), 'utf8'));
    }
    return files;
  };
  const sharedStrays = await setAside('shared');
  t.deepEqual([...sharedStrays.keys()].sort(), [path(phantom.id), path(kept), path(gone)].sort());
  t.is(sharedStrays.get(path(gone)), 'not even JSON');
  t.regex(sharedStrays.get(path(kept)) ?? '', /never acknowledged/);
  t.deepEqual([...(await setAside('private')).keys()], [path(secret)]);
});

interface Acknowledged {
  creates: Map<string, { name: string; access: string }>;
  uploads: Map<string, string>;
  /** Names of every create sent, answered or not: the only ones allowed to appear. */
  sent: Set<string>;
}

/** Creates and uploads from several clients until the daemon stops answering. */
async function workload(url: string, token: string, acked: Acknowledged, clients: number): Promise<void> {
  const d = { url };
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      for (let n = 0; ; n++) {
        const name = `crash-${client}-${n}-${randomUUID().slice(0, 8)}`;
        const access = n % 3 === 0 ? 'private' : 'public';
        acked.sent.add(name);
        let id: string;
        try {
          id = await createImage(d, token, { name, access });
        } catch {
          return;
        }
        acked.creates.set(id, { name, access });
        const bytes = randomBytes(64 * 1024 + Math.floor(Math.random() * 512 * 1024));
        try {
          const res = await putFile(d, token, id, bytes);
          if (res.status !== 200) return;
          await res.arrayBuffer();
        } catch {
          return;
        }
        acked.uploads.set(id, createHash('sha256').update(bytes).digest('hex'));
      }
    }),
  );
}

test('kill -9 at random moments under concurrent creates and uploads: every acknowledged write survives, nothing else appears', async (t) => {
  t.timeout(180_000);
  const dataDir = await tempDir('visor-crash-');
  const configFile = join(dataDir, 'visor.toml');
  await writeFile(configFile, `data_dir = "${dataDir}"\n[server]\nport = 0\n[log]\nlevel = "silent"\n[auth]\nkey_hash_cost = 10\n`);
  const acked: Acknowledged = { creates: new Map(), uploads: new Map(), sent: new Set() };
  const rounds = 4;
  const killedAt: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const daemon = spawnDaemon(configFile);
    const url = await daemon.serving();
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const work = workload(url, token, acked, 4);
    const wait = 300 + Math.floor(Math.random() * 1200);
    killedAt.push(wait);
    await new Promise((r) => setTimeout(r, wait));
    // The last round kills only once some upload has been acknowledged (within 60 s), so that the
    // check below has uploads to check however slow a loaded machine makes them.
    for (const until = Date.now() + 60_000; round === rounds - 1 && acked.uploads.size === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 50));
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    await work;
  }
  t.log(`${rounds} kill -9 rounds at ${killedAt.join(', ')} ms: ${acked.creates.size} creates and ${acked.uploads.size} uploads acknowledged`);
  t.true(acked.uploads.size > 0, 'the workload got uploads through before the kills');

  // No manual step: the next start serves everything acknowledged.
  const daemon = spawnDaemon(configFile);
  const url = await daemon.serving();
  try {
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const listed = (await call({ url }, token, 'GET', '/images?limit=1000')).json as { images: Array<{ id: string; name: string }> };
    for (const image of listed.images) t.true(acked.sent.has(image.name), `${image.name} was sent by a client`);
    const missing: string[] = [];
    for (const [id, { name }] of acked.creates) {
      const got = await call({ url }, token, 'GET', `/images/${id}`);
      if (got.status !== 200 || (got.json as { name: string }).name !== name) missing.push(id);
    }
    t.deepEqual(missing, [], 'every acknowledged create is served');
    const damaged: string[] = [];
    for (const [id, digest] of acked.uploads) {
      const res = await fetch(`${url}/images/${id}/file`, { headers: { authorization: `Bearer ${token}` } });
      const bytes = Buffer.from(await res.arrayBuffer());
      if (res.status !== 200 || createHash('sha256').update(bytes).digest('hex') !== digest) damaged.push(id);
    }
    t.deepEqual(damaged, [], 'every acknowledged upload downloads byte for byte');
    // Uploads cut by a kill end in error, never stuck: they can be retried.
    const stuck = listed.images.filter((i) => (i as { status?: string }).status === 'uploading');
    t.deepEqual(stuck, []);
    const retry = listed.images.find((i) => (i as { status?: string }).status === 'error');
    if (retry) await uploadFile({ url }, token, retry.id, randomBytes(1000));
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exitWithin(20_000);
  }
  for (const catalog of ['catalog', 'private-catalog']) {
    const fsck = await gitAsync(join(dataDir, catalog), 'fsck', '--full', '--no-progress');
    t.is(fsck.status, 0, `${catalog}: ${fsck.stderr}`);
  }
});

test('a sync cut short between moving the branch and the end of its checks is undone at the next start', async (t) => {
  const d = await startTestDaemon();
  const kept = await createImage(d, d.token, { name: 'before-the-sync', access: 'public' });
  const port = Number(new URL(d.url).port);
  await d.daemon.close();
  const shared = join(d.dataDir, 'catalog');
  const before = git(shared, 'rev-parse', 'HEAD').trim();
  // What the sync had done when the power went: its mark written, the unchecked merge on the branch.
  await mkdir(join(shared, '.git', 'visor'), { recursive: true });
  await writeFile(join(shared, '.git', 'visor', 'sync-in-progress'), `${before}\n`);
  const unchecked = imageRecord({ name: 'unchecked-upstream-record' });
  await writeRecordFile(shared, unchecked);
  git(shared, 'add', '-A');
  git(shared, 'commit', '-q', '-m', 'Merge upstream (unchecked)');

  const again = await startTestDaemon({ dataDir: d.dataDir, config: { server: { port } } });
  t.is(git(shared, 'rev-parse', 'HEAD').trim(), before, 'the branch is back where the sync found it');
  t.is((await call(again, undefined, 'GET', `/images/${unchecked.id}`)).status, 404);
  t.is((await call(again, undefined, 'GET', `/images/${kept}`)).status, 200);
  t.false(existsSync(join(shared, '.git', 'visor', 'sync-in-progress')));
  const next = await createImage(again, again.token, { name: 'after-the-undo', access: 'public' });
  t.is(git(shared, 'rev-parse', 'HEAD~1').trim(), before, 'new writes go on from the acknowledged head');
  t.is((await call(again, undefined, 'GET', `/images/${next}`)).status, 200);
  await again.stop();
});

import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { authed, jsonRequest } from './helpers/http.ts';
import { git, imageRecord, recordFile, writeRecordFile } from './helpers/gitRepos.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';

/**
 * Where a record lives is the catalogue whose file holds it: a private record in the shared
 * catalogue (an instance from before the private catalogue existed, a catalogue written by hand)
 * is readable by whoever may clone the shared one, and deletes, updates and index snapshots that
 * go by its access would miss its file.
 */

type Layout = { shared?: Record<string, unknown>[]; private?: Record<string, unknown>[] };

/** A data directory whose catalogues hold these records, committed by a publisher, never started. */
async function dataDirWith(layout: Layout): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-placement-'));
  for (const [folder, records] of [['catalog', layout.shared], ['private-catalog', layout.private]] as const) {
    if (!records) continue;
    const dir = join(dataDir, folder);
    // No "visibility": a catalogue from before it existed, which accepts private records.
    await initCatalog(dir);
    for (const r of records) await writeRecordFile(dir, r);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'records written by hand');
  }
  return dataDir;
}

/** The record files a catalogue's branch holds. */
function filesAt(dataDir: string, folder: 'catalog' | 'private-catalog'): string[] {
  return git(join(dataDir, folder), 'ls-tree', '-r', '--name-only', 'HEAD', 'images/').split('\n').filter((f) => f.endsWith('.json')).sort();
}

/** The ids an index snapshot of the data directory lists. */
async function snapshotIds(dataDir: string, file: 'catalog-index.json' | 'private-catalog-index.json'): Promise<string[]> {
  const lines = (await readFile(join(dataDir, file), 'utf8')).split('\n').filter(Boolean);
  return lines.slice(1).map((l) => (JSON.parse(l) as { id: string }).id).sort();
}

/** A start with no index snapshot: every file read again, as after a lost data directory or an upgrade. */
async function fullScanStart(d: TestDaemon): Promise<TestDaemon> {
  await d.daemon.close();
  await rm(join(d.dataDir, 'catalog-index.json'), { force: true });
  await rm(join(d.dataDir, 'private-catalog-index.json'), { force: true });
  return startTestDaemon({ dataDir: d.dataDir, config: { server: { port: Number(new URL(d.url).port) } } });
}

function logSink(): { logger: pino.Logger; lines: () => Array<Record<string, unknown>> } {
  const out: string[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (out.push(chunk.toString()), done()) });
  return { logger: pino({ level: 'warn' }, sink), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test("this instance's private images in the shared catalogue move to the private one at start; the shared one keeps only a deletion", async (t) => {
  const pub = imageRecord({ name: 'public-one' });
  const secret = imageRecord({ name: 'secret-one', access: 'private' });
  // A move cut short: added to the private catalogue, never removed from the shared one.
  const twice = imageRecord({ name: 'half-moved', access: 'private' });
  const dataDir = await dataDirWith({ shared: [pub, secret, twice], private: [twice] });
  const log = logSink();
  const d = await startTestDaemon({ dataDir, logger: log.logger });
  try {
    t.deepEqual(filesAt(dataDir, 'catalog'), [recordFile(pub.id)]);
    t.deepEqual(filesAt(dataDir, 'private-catalog'), [recordFile(secret.id), recordFile(twice.id)].sort());
    // Its public history tells nothing but a deletion, as for an image made private.
    t.is(git(join(dataDir, 'catalog'), 'log', '-1', '--format=%B', '--', recordFile(secret.id)).trim(), `Delete image ${secret.id} "secret-one"`);
    // Anyone may read the shared catalogue's static view: the file is gone from its head.
    t.is((await fetch(`${d.url}/catalog/files/${recordFile(secret.id)}`)).status, 404);
    t.is((await fetch(`${d.url}/catalog/files/${recordFile(pub.id)}`)).status, 200);
    t.like(await (await fetch(`${d.url}/images/${secret.id}`, authed(d.token))).json(), { name: 'secret-one', access: 'private' });
    t.is((await fetch(`${d.url}/images/${secret.id}`)).status, 404);
    const warned = log.lines().find((l) => typeof l['msg'] === 'string' && l['msg'].includes('moved into the private one'));
    t.like(warned, { images: 2 });
    t.regex(String(warned?.['msg']), /history still holds them/);
    // Saved on stop: each index snapshot lists only records whose files its own catalogue holds.
    await d.daemon.close();
    for (const [folder, snapshot] of [['catalog', 'catalog-index.json'], ['private-catalog', 'private-catalog-index.json']] as const) {
      t.deepEqual((await snapshotIds(dataDir, snapshot)).map(recordFile).sort(), filesAt(dataDir, folder), snapshot);
    }
  } finally {
    await d.stop().catch(() => undefined);
  }
});

test('a moved private image deleted, or updated, stays so after a later start that reads every file again', async (t) => {
  const gone = imageRecord({ name: 'to-delete', access: 'private' });
  const changed = imageRecord({ name: 'before', access: 'private' });
  const dataDir = await dataDirWith({ shared: [imageRecord(), gone, changed] });
  let d = await startTestDaemon({ dataDir });
  try {
    t.is((await fetch(`${d.url}/images/${gone.id}`, authed(d.token, { method: 'DELETE' }))).status, 200);
    t.is((await fetch(`${d.url}/images/${changed.id}`, jsonRequest(d.token, 'PUT', { name: 'after' }))).status, 200);
    d = await fullScanStart(d);
    t.is((await fetch(`${d.url}/images/${gone.id}`, authed(d.token))).status, 404, 'the deleted image does not come back');
    t.like(await (await fetch(`${d.url}/images/${changed.id}`, authed(d.token))).json(), { name: 'after' });
    t.false(filesAt(dataDir, 'catalog').some((f) => f.includes(gone.id) || f.includes(changed.id)), 'no copy left in the shared catalogue');
    t.deepEqual(filesAt(dataDir, 'private-catalog'), [recordFile(changed.id)]);
  } finally {
    await d.stop();
  }
});

test('index snapshots from before the move (version 2) are not trusted: the private image in the shared catalogue is found and moved', async (t) => {
  const pub = imageRecord();
  const secret = imageRecord({ access: 'private' });
  const dataDir = await dataDirWith({ shared: [pub, secret], private: [] });
  // What the earlier split wrote: each catalogue's head, the private record in the private snapshot.
  for (const [folder, snapshot, records] of [['catalog', 'catalog-index.json', [pub]], ['private-catalog', 'private-catalog-index.json', [secret]]] as const) {
    const head = git(join(dataDir, folder), 'rev-parse', 'HEAD').trim();
    await writeFile(join(dataDir, snapshot), `${[{ version: 2, head, records: records.length, problems: [] }, ...records].map((x) => JSON.stringify(x)).join('\n')}\n`, { mode: 0o600 });
  }
  const d = await startTestDaemon({ dataDir });
  try {
    t.deepEqual(filesAt(dataDir, 'catalog'), [recordFile(pub.id)]);
    t.deepEqual(filesAt(dataDir, 'private-catalog'), [recordFile(secret.id)]);
    t.is((await fetch(`${d.url}/images/${secret.id}`, authed(d.token))).status, 200);
  } finally {
    await d.stop();
  }
});

test("another instance's private image in the shared catalogue, and a public one in the private catalogue, are neither served nor moved: file problems, the catalogues untouched", async (t) => {
  const theirs = imageRecord({ access: 'private', origin: 'upstream.example.org' });
  const stray = imageRecord({ name: 'public-in-private' });
  const pub = imageRecord();
  const dataDir = await dataDirWith({ shared: [pub, theirs], private: [stray] });
  const heads = () => ['catalog', 'private-catalog'].map((f) => git(join(dataDir, f), 'rev-parse', 'HEAD').trim());
  const before = heads();
  const d = await startTestDaemon({ dataDir });
  try {
    t.is((await fetch(`${d.url}/images/${theirs.id}`, authed(d.token))).status, 404, 'not even an admin is served it');
    t.is((await fetch(`${d.url}/images/${stray.id}`)).status, 404, 'not served as public');
    t.is((await fetch(`${d.url}/images/${stray.id}`, authed(d.token))).status, 404);
    // No commit: a follower's shared catalogue stays where its upstream is, and nothing is published.
    t.deepEqual(heads(), before);
    const health = (await (await fetch(`${d.url}/health`, authed(d.token))).json()) as { catalog: { invalid_files: number } };
    t.is(health.catalog.invalid_files, 2);
    await d.daemon.close();
    t.deepEqual(await snapshotIds(dataDir, 'catalog-index.json'), [pub.id], 'the shared snapshot lists only what the shared catalogue holds and serves');
    t.deepEqual(await snapshotIds(dataDir, 'private-catalog-index.json'), []);
  } finally {
    await d.stop().catch(() => undefined);
  }
});

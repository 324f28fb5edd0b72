import test from 'ava';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { listShards, scanCatalog } from '../src/catalog/CatalogScanner.ts';
import { ParallelScan } from '../src/catalog/ParallelScan.ts';
import { imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { pollUntil } from './helpers/polling.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { beginScan, dropScan, joinScan, takeScan } from '../src/catalog/ScanInFlight.ts';
import { dropEarlyScans, sharedSnapshotPath, startEarlyScan } from '../src/service/EarlyScan.ts';
import { CatalogIndex, mergeSorted, recordOrder, sortedPositions } from '../src/catalog/CatalogIndex.ts';
import { parseImageQuery } from '../src/catalog/ImageQuery.ts';
import type { ImageRecord } from '../src/api/ImageRecord.ts';

/** Waits (up to 20 s) until the condition holds; the caller asserts it after. */
const until = (condition: () => boolean) => pollUntil(condition, (held) => held, { within: 20_000, every: 10 });

test('a first-start scan on two threads finds the same records and problems as one thread', async (t) => {
  const dir = await tempDir('visor-scan-');
  // Enough records for well over the 64 shard folders that bring in the second thread.
  for (let i = 0; i < 400; i++) await writeRecordFile(dir, imageRecord({ name: `scan-${i}` }));
  const broken = randomUUID();
  await mkdir(join(dir, 'images', broken.slice(0, 2)), { recursive: true });
  await writeFile(join(dir, 'images', broken.slice(0, 2), `${broken}.json`), '{"id": "not json');
  await writeRecordFile(dir, imageRecord({ name: 'bad-disk', disk: 'floppy' }));

  const schema = new ImageSchema();
  const one = scanCatalog(dir, schema);
  const scan = new ParallelScan(dir);
  // Joined once the worker has begun, so both threads read (without the wait this thread can read
  // all 400 files before the worker has loaded).
  await until(() => scan.handedOut > 0);
  const two = await scan.join(schema);
  t.is(two.records.length, 400);
  t.true(scan.fromWorker > 0, 'the worker read records');
  t.deepEqual(two.records.map((r) => r.id).sort(), one.records.map((r) => r.id).sort());
  t.deepEqual(
    two.problems.map((p) => `${p.file} ${p.field} ${p.rule}`).sort(),
    one.problems.map((p) => `${p.file} ${p.field} ${p.rule}`).sort(),
  );
  t.true(two.problems.some((p) => p.rule === 'json'));
  t.true(two.problems.some((p) => p.field === 'disk'));
});

test('a scan begun early and joined late (the worker read every shard) gives the same records, field for field', async (t) => {
  const dir = await tempDir('visor-scan-early-');
  for (let i = 0; i < 300; i++) await writeRecordFile(dir, imageRecord({ name: `early-${i}`, description: `caf\u00e9 ${i}`, tags: ['t'] }));
  await writeRecordFile(dir, imageRecord({ name: 'bad-arch', architecture: 'pdp11' }));
  const schema = new ImageSchema();
  const early = new ParallelScan(dir);
  // This thread is busy elsewhere meanwhile: the worker takes the shards on its own.
  const shards = listShards(dir).length;
  t.true(shards >= 64, 'enough shards for a worker');
  await until(() => early.handedOut >= shards);
  t.true(early.handedOut >= shards, 'the worker took every shard before this thread joined');
  const scanned = await early.join(schema);
  t.is(early.fromWorker, 300, 'every record came from the worker');
  const one = scanCatalog(dir, schema);
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
  t.deepEqual([...scanned.records].sort(byId), [...one.records].sort(byId));
  t.deepEqual(scanned.problems, one.problems);
  t.is(scanned.records.length, 300);
  t.deepEqual(scanned.newestFirst?.map((r) => r.id), [...one.records].sort(recordOrder('created_at', 'desc')).map((r) => r.id));
});

test('a shard larger than the worker\'s buffer reaches this thread whole, multi-byte text intact', async (t) => {
  const dir = await tempDir('visor-scan-big-');
  for (let i = 0; i < 100; i++) await writeRecordFile(dir, imageRecord({ name: `spread-${i}` }));
  // 24 records of ~60 KB of two-byte characters in one shard folder: ~1.4 MB, past the first 1 MiB.
  const big = Array.from({ length: 24 }, (_, i) => imageRecord({ id: `ee${randomUUID().slice(2)}`, name: `big-${i}`, description: `${'\u00e9'.repeat(30_000)} ${i} \u{1F4BF}` }));
  for (const r of big) await writeRecordFile(dir, r);
  const schema = new ImageSchema();
  const scan = new ParallelScan(dir);
  await until(() => scan.handedOut >= listShards(dir).length);
  const scanned = await scan.join(schema);
  t.is(scan.fromWorker, 124, 'the worker read every record, the big shard included');
  const byId = new Map(scanned.records.map((r) => [r.id, r]));
  for (const r of big) t.is(byId.get(r.id)?.description, r['description'] as string);
  t.deepEqual(scanned.problems, []);
});

test('a scan this thread joined early and that is then dropped stops, and the load scans the folder as it is now', async (t) => {
  const dir = await tempDir('visor-scan-drop-');
  for (let i = 0; i < 300; i++) await writeRecordFile(dir, imageRecord({ name: `drop-${i}` }));
  const schema = new ImageSchema();
  beginScan(dir);
  joinScan(dir, schema);
  const dropped = takeScan(dir);
  beginScan(dir);
  // What a start that sets strays aside does: the tree changes, the scan begun before is dropped.
  joinScan(dir, schema);
  dropScan(dir);
  await writeRecordFile(dir, imageRecord({ name: 'after-the-drop' }));
  const fresh = await takeScan(dir).join(schema);
  t.is(fresh.records.length, 301, 'a new scan, which sees the record written after the drop');
  t.is((await dropped.join(schema)).records.length, 300, 'a scan taken before the drop is its taker\'s, and ends');
});

test('a two-thread scan hands the index its records newest first, ties broken on id, as lists are served', async (t) => {
  const dir = await tempDir('visor-scan-order-');
  // Eight distinct creation times: most records tie with many others. Enough files that the worker
  // is still reading when this thread joins, so both threads' sorted shares are merged.
  for (let i = 0; i < 2000; i++) await writeRecordFile(dir, imageRecord({ name: `order-${i}`, created_at: `2026-0${1 + (i % 8)}-01T00:00:00.000Z` }));
  const schema = new ImageSchema();
  const scan = new ParallelScan(dir);
  await pollUntil(() => scan.handedOut, (n) => n > 0, { within: 20_000, every: 1 });
  const scanned = await scan.join(schema);
  const expected = [...scanned.records].sort(recordOrder('created_at', 'desc'));
  t.is(scanned.records.length, 2000);
  t.true(scan.fromWorker > 0 && scan.fromWorker < 2000, `both threads read records (the worker ${scan.fromWorker} of 2000)`);
  t.deepEqual(scanned.newestFirst?.map((r) => r.id), expected.map((r) => r.id));

  // An index given that order serves every page as one that sorts for itself, before and after a write.
  const given = new CatalogIndex(scanned.records, scanned.newestFirst);
  const sorted = new CatalogIndex(scanned.records);
  const query = parseImageQuery({ limit: '1000' }, schema);
  const ids = (index: CatalogIndex) => index.query(query, () => true).items.map((r) => r.id);
  t.deepEqual(ids(given), ids(sorted));
  const added = imageRecord({ created_at: '2026-05-01T00:00:00.000Z' }) as unknown as ImageRecord;
  for (const index of [given, sorted]) index.put(added);
  t.deepEqual(ids(given), ids(sorted));
});

test('two catalogues\' records make one index at once: the preferred copy wins a shared id, the default order stays whole', (t) => {
  const older = (n: number) => new Date(Date.UTC(2026, 0, 1 + n)).toISOString();
  const other = Array.from({ length: 50 }, (_, i) => imageRecord({ created_at: older(i) }) as unknown as ImageRecord);
  const preferred = Array.from({ length: 20 }, (_, i) => imageRecord({ created_at: older(i * 2 + 1), access: 'private' }) as unknown as ImageRecord);
  const twin = { ...other[7]!, access: 'private', name: 'the private copy' } as ImageRecord;
  preferred.push(twin);
  const order = recordOrder('created_at', 'desc');
  const both: string[] = [];
  const index = CatalogIndex.ofBoth({ records: other, newestFirst: [...other].sort(order) }, { records: preferred }, (id) => both.push(id));
  t.deepEqual(both, [twin.id]);
  t.is(index.size, 70);
  t.is(index.get(twin.id)?.name, 'the private copy');
  const expected = [...other.filter((r) => r.id !== twin.id), ...preferred].sort(order).map((r) => r.id);
  t.deepEqual(index.query(parseImageQuery({ limit: '1000' }, new ImageSchema()), () => true).items.map((r) => r.id), expected);
});

test('sorted shares merge into one list in the same order', (t) => {
  const records = Array.from({ length: 50 }, (_, i) => imageRecord({ created_at: `2026-01-0${1 + (i % 3)}T00:00:00.000Z` }) as unknown as ImageRecord);
  const order = recordOrder('created_at', 'desc');
  const share = (part: ImageRecord[]) => Array.from(sortedPositions(part, 'created_at', 'desc'), (i) => part[i]!);
  const merged = mergeSorted(share(records.slice(0, 17)), share(records.slice(17)), order);
  t.deepEqual(merged, [...records].sort(order));
});

test('a first start begins the scan before the daemon loads, and the catalogue load takes over that scan, read by its worker', async (t) => {
  const dataDir = await tempDir('visor-scan-start-');
  const config = loadConfig({ overrides: { data_dir: dataDir }, env: { HOME: dataDir } });
  const catalog = config.catalog.path;
  for (let i = 0; i < 300; i++) await writeRecordFile(catalog, imageRecord({ name: `start-${i}` }));
  const shards = listShards(catalog);
  // A record written after a scan began, in a shard folder of its own: a scan begun before it
  // does not know that folder, one begun after reads it. That tells which scan was taken over.
  const freeShard = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).find((s) => !shards.includes(s))!;
  const late = (n: number) => writeRecordFile(catalog, imageRecord({ id: `${freeShard}${randomUUID().slice(2, -2)}${n}${n}`, name: `late-${n}` }));

  // With an index snapshot there is nothing to scan: nothing is begun, the load scans for itself.
  const snapshot = sharedSnapshotPath(config);
  await writeFile(snapshot, '{}');
  startEarlyScan(config);
  await late(1);
  t.is((await takeScan(catalog).join(new ImageSchema())).records.length, 301, 'not begun early: the scan sees the later record');
  await rm(join(catalog, 'images', freeShard), { recursive: true });
  await rm(snapshot);

  startEarlyScan(config);
  await late(2);
  const scan = takeScan(catalog);
  await until(() => scan.handedOut >= shards.length);
  t.true(scan.handedOut >= shards.length, 'the worker took every shard meanwhile');
  const scanned = await scan.join(new ImageSchema());
  t.is(scanned.records.length, 300, 'the scan begun before the later record is the one taken over');
  t.is(scan.fromWorker, 300, 'and its worker read them all');
});

test('a first start begins the private catalogue\'s scan early too, and a failed start drops both', async (t) => {
  const dataDir = await tempDir('visor-scan-private-');
  const config = loadConfig({ overrides: { data_dir: dataDir }, env: { HOME: dataDir } });
  for (let i = 0; i < 300; i++) await writeRecordFile(config.catalog.privatePath, imageRecord({ name: `own-${i}`, access: 'private' }));
  const shards = listShards(config.catalog.privatePath);
  const freeShard = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0')).find((s) => !shards.includes(s))!;
  startEarlyScan(config);
  // In a shard folder of its own, written after the scan began: a scan begun before does not know it.
  await writeRecordFile(config.catalog.privatePath, imageRecord({ id: `${freeShard}${randomUUID().slice(2)}`, access: 'private' }));
  t.is((await takeScan(config.catalog.privatePath).join(new ImageSchema())).records.length, 300, 'the scan taken over was begun before the later record');

  startEarlyScan(config);
  dropEarlyScans(config);
  await writeRecordFile(config.catalog.privatePath, imageRecord({ name: 'after', access: 'private' }));
  t.is((await takeScan(config.catalog.privatePath).join(new ImageSchema())).records.length, 302, 'dropped: the next load scans afresh');
});

test('links, folders and other non-files among the records are reported and never read, on one thread or two', async (t) => {
  const dir = await tempDir('visor-scan-links-');
  const good = imageRecord();
  await writeRecordFile(dir, good);
  const elsewhere = imageRecord();
  const outside = join(dir, 'outside.json');
  await writeFile(outside, JSON.stringify(elsewhere));
  const shard = join(dir, 'images', elsewhere.id.slice(0, 2));
  await mkdir(shard, { recursive: true });
  await symlink(outside, join(shard, `${elsewhere.id}.json`));
  const dangling = randomUUID();
  await mkdir(join(dir, 'images', dangling.slice(0, 2)), { recursive: true });
  await symlink('/nonexistent/record.json', join(dir, 'images', dangling.slice(0, 2), `${dangling}.json`));
  await mkdir(join(dir, 'images', good.id.slice(0, 2), 'a-folder.json'));
  const schema = new ImageSchema();
  for (const result of [scanCatalog(dir, schema), await new ParallelScan(dir).join(schema)]) {
    t.deepEqual(result.records.map((r) => r.id), [good.id], 'only the regular file is a record');
    t.deepEqual(result.problems.filter((p) => p.rule === 'file-mode').map((p) => p.file).sort(), [`images/${elsewhere.id.slice(0, 2)}/${elsewhere.id}.json`, `images/${dangling.slice(0, 2)}/${dangling}.json`, `images/${good.id.slice(0, 2)}/a-folder.json`].sort());
  }
});

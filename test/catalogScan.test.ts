import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { scanCatalog } from '../src/catalog/CatalogScanner.ts';
import { ParallelScan, scanCatalogParallel } from '../src/catalog/ParallelScan.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { CatalogIndex, mergeSorted, recordOrder, sortedPositions } from '../src/catalog/CatalogIndex.ts';
import { parseImageQuery } from '../src/catalog/ImageQuery.ts';
import type { ImageRecord } from '../src/catalog/ImageRecord.ts';

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
  const two = await scanCatalogParallel(dir, schema);
  t.is(two.records.length, 400);
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
  await sleep(1500);
  const scanned = await early.finish(schema);
  const one = scanCatalog(dir, schema);
  const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
  t.deepEqual([...scanned.records].sort(byId), [...one.records].sort(byId));
  t.deepEqual(scanned.problems, one.problems);
  t.is(scanned.records.length, 300);
  t.deepEqual(scanned.newestFirst?.map((r) => r.id), [...one.records].sort(recordOrder('created_at', 'desc')).map((r) => r.id));
});

test('a two-thread scan hands the index its records newest first, ties broken on id, as lists are served', async (t) => {
  const dir = await tempDir('visor-scan-order-');
  // Eight distinct creation times: most records tie with many others. Enough files that the worker
  // is still reading when this thread joins, so both threads' sorted shares are merged.
  for (let i = 0; i < 2000; i++) await writeRecordFile(dir, imageRecord({ name: `order-${i}`, created_at: `2026-0${1 + (i % 8)}-01T00:00:00.000Z` }));
  const schema = new ImageSchema();
  const scan = new ParallelScan(dir);
  while (scan.handedOut === 0) await sleep(1);
  const scanned = await scan.finish(schema);
  const expected = [...scanned.records].sort(recordOrder('created_at', 'desc'));
  t.is(scanned.records.length, 2000);
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

test('sorted shares merge into one list in the same order', (t) => {
  const records = Array.from({ length: 50 }, (_, i) => imageRecord({ created_at: `2026-01-0${1 + (i % 3)}T00:00:00.000Z` }) as unknown as ImageRecord);
  const order = recordOrder('created_at', 'desc');
  const share = (part: ImageRecord[]) => Array.from(sortedPositions(part, 'created_at', 'desc'), (i) => part[i]!);
  const merged = mergeSorted(share(records.slice(0, 17)), share(records.slice(17)), order);
  t.deepEqual(merged, [...records].sort(order));
});

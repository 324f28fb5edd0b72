import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { scanCatalog } from '../src/catalog/CatalogScanner.ts';
import { ParallelScan, scanCatalogParallel } from '../src/catalog/ParallelScan.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';

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
});

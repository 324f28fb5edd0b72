import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { validateCatalog } from '../src/catalog/CatalogValidator.ts';
import { git, imageRecord, recordFile, serverAndClone, tryGit, writeRecordFile } from './helpers/gitRepos.ts';

// The catalogue's own checks (the server's hook, catalog validate, and syncs, all through
// CatalogRules) refuse a record whose disk or virtual_size contradicts what inspection found in its
// file: a publisher editing the record by hand cannot turn a qcow2 back into "raw".

const inspection = (format: string, virtualSize: number) => ({ format, virtual_size: virtualSize, inspected_at: new Date().toISOString(), inspector: 'visor-inspect/1' });

test('catalog validate refuses a disk or virtual_size that contradicts the recorded inspection, and takes those that fit', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'visor-cat-')), 'catalog');
  await initCatalog(dir);
  await writeRecordFile(dir, imageRecord({ disk: 'raw', virtual_size: 1048576, inspection: inspection('qcow2', 1048576) }));
  await writeRecordFile(dir, imageRecord({ disk: 'qcow2', virtual_size: 5, inspection: inspection('qcow2', 1048576) }));
  await writeRecordFile(dir, imageRecord({ disk: 'raw', virtual_size: 4096, inspection: inspection('gpt', 4096) }));
  await writeRecordFile(dir, imageRecord({ disk: 'iso', inspection: inspection('iso', 4096) }));
  await writeRecordFile(dir, imageRecord({ inspection: inspection('vmdk', 4096) }));
  const problems = await validateCatalog(dir);
  t.deepEqual(problems.map((p) => [p.field, p.rule]).sort(), [['disk', 'format-mismatch'], ['virtual_size', 'inspected-virtual-size']]);
});

test('the server refuses a push that turns an inspected qcow2 into raw', async (t) => {
  const { clone } = await serverAndClone();
  const record = imageRecord({ disk: 'qcow2', virtual_size: 1048576, inspection: inspection('qcow2', 1048576) });
  git(clone, 'checkout', '-q', '-B', 'good', 'origin/main');
  await writeRecordFile(clone, record);
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', 'publish');
  t.is(tryGit(clone, 'push', '-q', 'origin', 'good').status, 0);
  await writeRecordFile(clone, { ...record, disk: 'raw' });
  git(clone, 'commit', '-q', '--no-verify', '-am', 'now it is raw');
  const push = tryGit(clone, 'push', 'origin', 'good');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${recordFile(record.id)}: disk: .*inspected format qcow2.*\\[format-mismatch\\]`));
});

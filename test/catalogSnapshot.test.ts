import test from 'ava';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogSnapshot } from '../src/catalog/CatalogSnapshot.ts';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { GitRunner } from '../src/git/GitRunner.ts';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import type { FileProblem } from '../src/catalog/CatalogScanner.ts';
import { git, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';

/** An empty catalogue at a commit, and its snapshot in a data folder beside it. */
async function emptyCatalogue(): Promise<{ dir: string; git: GitRunner; head: string; snapshot: CatalogSnapshot; file: string }> {
  const root = await tempDir('visor-snapshot-');
  const dir = join(root, 'catalog');
  await initCatalog(dir);
  const git = new GitRunner(dir);
  const head = (await git.revParse('HEAD'))!;
  const file = join(root, 'catalog-index.json');
  return { dir, git, head, file, snapshot: new CatalogSnapshot(file, dir, git, new ImageSchema()) };
}

const byId = (records: readonly ImageRecord[]) => [...records].sort((a, b) => (a.id < b.id ? -1 : 1));

test('a saved snapshot loads back record for record, across read chunks, long lines and any text', async (t) => {
  const { snapshot, head } = await emptyCatalogue();
  // ~2.5 MB in all: several of the reader's 1 MiB chunks, lines cut at their edges, and one line
  // longer than a chunk. Newlines and non-ASCII text inside values must not split records.
  const records = Array.from({ length: 3000 }, (_, i) => imageRecord({ description: `line one\nline two: caf\u00e9 \u2603 ${'x'.repeat(i % 700)}`, tags: ['a', `t${i % 7}`] }) as unknown as ImageRecord);
  records.push(imageRecord({ description: 'y'.repeat(1_500_000) }) as unknown as ImageRecord);
  const problems: FileProblem[] = [{ file: 'images/zz/broken.json', field: '(file)', rule: 'json', expected: 'a JSON object', message: 'not valid JSON' }];
  await snapshot.save(head, records, problems);

  const loaded = await snapshot.load();
  t.is(loaded.source, 'snapshot');
  t.is(loaded.reread, 0);
  t.deepEqual(byId(loaded.records), byId(records));
  t.deepEqual(loaded.problems, problems);
});

test('a snapshot cut short is not trusted: the catalogue is scanned in full', async (t) => {
  const { snapshot, head, file, dir } = await emptyCatalogue();
  const onDisk = imageRecord({ name: 'on-disk' });
  await writeRecordFile(dir, onDisk);
  const saved = Array.from({ length: 50 }, () => imageRecord() as unknown as ImageRecord);
  await snapshot.save(head, saved, []);
  const size = (await readFile(file)).length;
  // Cut at a line's end: every line left parses, but records are missing.
  const text = await readFile(file, 'utf8');
  await truncate(file, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n', size - 2) + 1)));

  const loaded = await snapshot.load();
  t.is(loaded.source, 'scan');
  t.deepEqual(loaded.records.map((r) => r.id), [onDisk.id]);
});

test('a snapshot of the earlier one-document form (version 1) is not read: the catalogue is scanned in full', async (t) => {
  const { snapshot, head, file, dir } = await emptyCatalogue();
  const onDisk = imageRecord({ name: 'on-disk' });
  await writeRecordFile(dir, onDisk);
  await writeFile(file, JSON.stringify({ version: 1, head, records: [imageRecord({ name: 'stale' })], problems: [] }));

  const loaded = await snapshot.load();
  t.is(loaded.source, 'scan');
  t.deepEqual(loaded.records.map((r) => r.name), ['on-disk']);
});

test('files changed since the snapshot replace their records; others come from the snapshot', async (t) => {
  const { snapshot, head, dir } = await emptyCatalogue();
  const kept = imageRecord({ name: 'kept' }) as unknown as ImageRecord;
  const edited = imageRecord({ name: 'before' }) as unknown as ImageRecord;
  await snapshot.save(head, [kept, edited], []);
  await writeRecordFile(dir, { ...edited, name: 'after' });
  const added = imageRecord({ name: 'added' });
  await writeRecordFile(dir, added);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-qm', 'an edit and an addition');

  const loaded = await snapshot.load();
  t.is(loaded.source, 'snapshot');
  t.is(loaded.reread, 2);
  t.deepEqual(loaded.records.map((r) => r.name).sort(), ['added', 'after', 'kept']);
});

test('a record path that became a symbolic link since the snapshot is not followed', async (t) => {
  const { snapshot, head, dir } = await emptyCatalogue();
  await snapshot.save(head, [], []);
  const elsewhere = imageRecord({ name: 'read-through-a-link' });
  const target = join(dir, '..', 'outside.json');
  await writeFile(target, JSON.stringify(elsewhere));
  await mkdir(join(dir, 'images', elsewhere.id.slice(0, 2)), { recursive: true });
  await symlink(target, join(dir, 'images', elsewhere.id.slice(0, 2), `${elsewhere.id}.json`));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'a link');
  const loaded = await snapshot.load();
  t.is(loaded.source, 'snapshot');
  t.deepEqual(loaded.records, []);
});

import test from 'ava';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { CatalogCheckRun } from '../src/catalog/CatalogCheckRun.ts';
import { commitRef } from '../src/catalog/CatalogTree.ts';
import { git, imageRecord, recordFile, tempDir, writeRecordFile } from './helpers/gitRepos.ts';

async function commit(repo: string, records: Array<Record<string, unknown>>, remove: string[] = []): Promise<string> {
  for (const r of records) await writeRecordFile(repo, r);
  for (const path of remove) git(repo, 'rm', '-q', path);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '--no-verify', '-m', 'change');
  return git(repo, 'rev-parse', 'HEAD').trim();
}

const summary = (problems: Array<{ file: string; field: string; rule: string }>) => problems.map((p) => `${p.file} ${p.field} ${p.rule}`).sort();

test('a check run carried from commit to commit (as a daemon syncs) judges like a fresh one', async (t) => {
  const repo = join(await tempDir(), 'catalog');
  await initCatalog(repo);
  const kernel = imageRecord({ name: 'vmlinuz', type: 'kernel' });
  const user = imageRecord({ name: 'uses-kernel', kernel: kernel.id });
  const first = imageRecord({ name: 'noble', series: 'ubuntu' });
  const c1 = await commit(repo, [kernel, user, first]);
  const renamed = imageRecord({ name: 'jammy', series: 'ubuntu' });
  const c2 = await commit(repo, [renamed]);
  // c3: a namesake in the series, a deleted kernel still in use, and the user of the old name renamed.
  const namesake = imageRecord({ name: 'noble', series: 'ubuntu' });
  const c3 = await commit(repo, [namesake, { ...renamed, name: 'noble-2' }], [recordFile(kernel.id)]);

  const carried = await CatalogCheckRun.open(repo);
  await carried.prepare(c1);
  t.deepEqual((await carried.check(commitRef(c1), commitRef(c2))).problems, []);
  const moved = await carried.check(commitRef(c2), commitRef(c3));
  const fresh = await CatalogCheckRun.open(repo);
  const full = await fresh.check(commitRef(c2), commitRef(c3));
  t.deepEqual(summary(moved.problems), summary(full.problems));
  t.deepEqual(summary(moved.problems), [`${recordFile(kernel.id)} (file) referenced`, `${recordFile(namesake.id)} name unique-in-series`].sort());
  // And back again: a rolled-back sync checks from the earlier commit.
  t.deepEqual((await carried.check(commitRef(c1), commitRef(c2))).problems, []);
  await Promise.all([carried.close(), fresh.close()]);
});

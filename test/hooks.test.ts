import test from 'ava';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runVisor } from './helpers/cli.ts';
import { git, tryGit, serverAndClone, imageRecord, writeRecordFile, recordFile, readRecordFile } from './helpers/gitRepos.ts';

async function commitRecords(clone: string, branch: string, records: Array<Record<string, unknown>>, message = 'publish') {
  git(clone, 'checkout', '-q', '-B', branch, 'origin/main');
  for (const r of records) await writeRecordFile(clone, r);
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', message);
}

test('the server accepts a branch of valid new images', async (t) => {
  const { clone } = await serverAndClone();
  await commitRecords(clone, 'good', [imageRecord(), imageRecord({ series: 'cirros' })]);
  const push = tryGit(clone, 'push', '-q', 'origin', 'good');
  t.is(push.status, 0, push.stderr);
});

test('the server refuses schema errors, naming the file, the field and the reason', async (t) => {
  const { clone } = await serverAndClone();
  const bad = imageRecord({ disk: 'floppy', colour: 'blue' });
  await commitRecords(clone, 'bad', [bad]);
  const push = tryGit(clone, 'push', 'origin', 'bad');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${recordFile(bad.id)}: disk: disk: expected one of .*\\[enum\\]`));
  t.regex(push.stderr, /colour: .*\[additionalProperties\]/);
  t.is(tryGit(clone, 'ls-remote', '--heads', 'origin', 'bad').stdout, '', 'the branch did not land');
});

test('the server refuses misplaced files and paths that collide on a case-insensitive file system', async (t) => {
  const { clone } = await serverAndClone();
  const r = imageRecord();
  git(clone, 'checkout', '-q', '-B', 'misplaced', 'origin/main');
  await writeRecordFile(clone, r, `images/zz/${r.id}.json`);
  await writeRecordFile(clone, imageRecord(), 'images/notes.json');
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', 'misplaced');
  const push = tryGit(clone, 'push', 'origin', 'misplaced');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`images/zz/${r.id}.json: .*\\[layout\\]`));
  t.regex(push.stderr, /images\/notes.json: .*\[layout\]/);

  git(clone, 'checkout', '-q', '-B', 'case', 'origin/main');
  await writeRecordFile(clone, { x: 1 }, 'README.MD');
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', 'case');
  const casePush = tryGit(clone, 'push', 'origin', 'case');
  t.not(casePush.status, 0);
  t.regex(casePush.stderr, /README.MD: .*collides with README.md.*\[case-collision\]/);
});

test('immutable facts of an existing image cannot change; mutable ones can', async (t) => {
  const { clone } = await serverAndClone();
  const r = imageRecord();
  await commitRecords(clone, 'main', [r]);
  t.is(tryGit(clone, 'push', '-q', 'origin', 'main').status, 0);

  await commitRecords(clone, 'edit', [{ ...r, name: 'renamed', description: 'fine' }]);
  t.is(tryGit(clone, 'push', '-q', 'origin', 'edit').status, 0);

  await commitRecords(clone, 'tamper', [{ ...r, checksum: `sha256:${'b'.repeat(64)}`, size: 11 }]);
  const push = tryGit(clone, 'push', 'origin', 'tamper');
  t.not(push.status, 0);
  t.regex(push.stderr, /checksum: checksum cannot change once set/);
  t.regex(push.stderr, /size: size cannot change once set/);

  await commitRecords(clone, 'collide', [{ ...imageRecord({ id: r.id }), owner: 'mallory' }]);
  const collide = tryGit(clone, 'push', 'origin', 'collide');
  t.not(collide.status, 0);
  t.regex(collide.stderr, /owner: owner cannot change once set .*\[id-collision-or-immutable\]/);
});

test('names are unique within a series', async (t) => {
  const { clone } = await serverAndClone();
  await commitRecords(clone, 'main', [imageRecord({ series: 'cirros', name: 'cirros-0.6' })]);
  t.is(tryGit(clone, 'push', '-q', 'origin', 'main').status, 0);
  const dup = imageRecord({ series: 'cirros', name: 'cirros-0.6' });
  await commitRecords(clone, 'dup', [dup, imageRecord({ series: 'other', name: 'cirros-0.6' }), imageRecord({ series: 'cirros', name: 'cirros-0.6', owner: 'eve' })]);
  const push = tryGit(clone, 'push', 'origin', 'dup');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${recordFile(dup.id)}: name: .*already named "cirros-0.6" \\[unique-in-series\\]`));
  t.is(push.stderr.match(/unique-in-series/g)?.length, 1, 'the same name in another series, or of another owner (a series is a namespace per owner), is fine');
});

test('an image referenced as kernel cannot be deleted; references must exist', async (t) => {
  const { clone } = await serverAndClone();
  const kernel = imageRecord({ type: 'kernel' });
  const vm = imageRecord({ kernel: kernel.id });
  await commitRecords(clone, 'main', [kernel, vm]);
  t.is(tryGit(clone, 'push', '-q', 'origin', 'main').status, 0);
  git(clone, 'checkout', '-q', '-B', 'drop', 'origin/main');
  git(clone, 'rm', '-q', recordFile(kernel.id));
  git(clone, 'commit', '-q', '-m', 'drop kernel');
  const push = tryGit(clone, 'push', 'origin', 'drop');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${recordFile(kernel.id)}: .*it is the kernel of ${vm.id} \\[referenced\\]`));

  await commitRecords(clone, 'dangling', [imageRecord({ ramdisk: imageRecord().id })]);
  t.regex(tryGit(clone, 'push', 'origin', 'dangling').stderr, /ramdisk: ramdisk: no image .*\[reference\]/);
});

test('the main branch moves only forward and cannot be deleted', async (t) => {
  const { clone } = await serverAndClone();
  await commitRecords(clone, 'main', [imageRecord()]);
  t.is(tryGit(clone, 'push', '-q', 'origin', 'main').status, 0);
  // Rewrite history: drop the pushed commit and put another in its place.
  git(clone, 'reset', '-q', '--hard', 'HEAD~1');
  await writeRecordFile(clone, imageRecord());
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', 'rewrite');
  const force = tryGit(clone, 'push', '--force', 'origin', 'main');
  t.not(force.status, 0);
  t.regex(force.stderr, /non-fast-forward update of main refused/);
  const del = tryGit(clone, 'push', 'origin', ':main');
  t.not(del.status, 0);
});

test('a public catalogue refuses private images, even ones a later commit removes', async (t) => {
  const { clone } = await serverAndClone({ publicCatalogue: true });
  const secret = imageRecord({ access: 'private' });
  await commitRecords(clone, 'leak', [secret]);
  git(clone, 'rm', '-q', recordFile(secret.id));
  git(clone, 'commit', '-q', '-m', 'oops, remove it again');
  const push = tryGit(clone, 'push', 'origin', 'leak');
  t.not(push.status, 0);
  t.regex(push.stderr, /adds a private image to a public catalogue/);
});

test('the pre-commit hook refuses a bad staged record and lets a good one through', async (t) => {
  const { clone } = await serverAndClone({ hooksInClone: true });
  const bad = imageRecord({ architecture: 'vax' });
  await writeRecordFile(clone, bad);
  git(clone, 'add', '-A');
  const commit = tryGit(clone, 'commit', '-m', 'bad');
  t.not(commit.status, 0);
  t.regex(commit.stderr, new RegExp(`${recordFile(bad.id)}: architecture: .*\\[enum\\]`));
  await writeRecordFile(clone, { ...bad, architecture: 'x86_64' });
  git(clone, 'add', '-A');
  const ok = tryGit(clone, 'commit', '-q', '-m', 'good');
  t.is(ok.status, 0, ok.stderr);
});

test('concurrent edits of one record merge field by field through .gitattributes', async (t) => {
  const { clone, root } = await serverAndClone({ hooksInClone: true });
  const r = imageRecord({ tags: ['base'] });
  await commitRecords(clone, 'main', [r]);
  git(clone, 'checkout', '-q', '-B', 'a', 'main');
  await writeRecordFile(clone, { ...r, name: 'renamed', tags: ['base', 'lts'] });
  git(clone, 'commit', '-q', '--no-verify', '-am', 'rename');
  git(clone, 'checkout', '-q', '-B', 'b', 'main');
  await writeRecordFile(clone, { ...r, min_ram: 512, tags: ['base', 'tiny'] });
  git(clone, 'commit', '-q', '--no-verify', '-am', 'ram');
  const merge = tryGit(clone, 'merge', '--no-edit', 'a');
  t.is(merge.status, 0, merge.stderr);
  const merged = await readRecordFile(clone, r.id);
  t.is(merged['name'], 'renamed');
  t.is(merged['min_ram'], 512);
  t.deepEqual(merged['tags'], ['base', 'tiny', 'lts']);

  git(clone, 'checkout', '-q', '-B', 'c', 'main');
  await writeRecordFile(clone, { ...r, name: 'one' });
  git(clone, 'commit', '-q', '--no-verify', '-am', 'one');
  git(clone, 'checkout', '-q', '-B', 'd', 'main');
  await writeRecordFile(clone, { ...r, name: 'two' });
  git(clone, 'commit', '-q', '--no-verify', '-am', 'two');
  const conflict = tryGit(clone, 'merge', '--no-edit', 'c');
  t.not(conflict.status, 0, 'a real conflict stops the merge for a person to decide');
  t.regex(conflict.stdout + conflict.stderr, /name: ours "two", theirs "one", unresolved/);
  await rm(root, { recursive: true, force: true });
});

test('catalog validate --base checks only what changed, with the rules of the hooks', async (t) => {
  const { clone } = await serverAndClone();
  await commitRecords(clone, 'pr', [imageRecord(), imageRecord({ min_disk: -1 })]);
  const pr = await runVisor(['catalog', 'validate', clone, '--base', 'origin/main']);
  t.is(pr.code, 1);
  t.is(pr.stdout.trim().split('\n').length, 1, 'only the changed, broken record is reported');
  t.regex(pr.stdout, /min_disk: .*\[minimum\]/);
  const clean = await runVisor(['catalog', 'validate', clone, '--base', 'HEAD']);
  t.is(clean.code, 0, clean.stdout + clean.stderr);
});

test('every pushed commit is checked, not only the last: an invalid record added and removed again is refused', async (t) => {
  const { clone } = await serverAndClone();
  const bad = imageRecord({ disk: 'floppy' });
  await commitRecords(clone, 'passing-through', [bad]);
  git(clone, 'rm', '-q', recordFile(bad.id));
  git(clone, 'commit', '-q', '--no-verify', '-m', 'gone again');
  const push = tryGit(clone, 'push', 'origin', 'passing-through');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${recordFile(bad.id)}: disk: .*\\(commit [0-9a-f]{12}\\)`));
});

test('the server refuses symlinks, files outside the layout and oversized records', async (t) => {
  const { clone } = await serverAndClone();
  const link = imageRecord();
  const padded = imageRecord({ description: 'x'.repeat(70 * 1024) });
  const cases: Array<[string, (dir: string) => void | Promise<void>, RegExp]> = [
    ['symlink', async (dir) => {
      await mkdir(join(dir, 'images', link.id.slice(0, 2)), { recursive: true });
      await symlink('/etc/passwd', join(dir, recordFile(link.id)));
    }, /is a symbolic link \(commit [0-9a-f]{12}\) \[file-mode\]/],
    ['top-level', (dir) => writeFile(join(dir, 'notes.txt'), 'hello\n'), /notes\.txt has no place in a catalogue .*\[allowed-path\]/],
    ['padded', async (dir) => {
      await writeRecordFile(dir, padded);
    }, /is \d+ bytes .*\[max-size\]/],
  ];
  for (const [branch, make, expected] of cases) {
    git(clone, 'checkout', '-q', '-B', branch, 'origin/main');
    git(clone, 'clean', '-qfdx');
    await make(clone);
    git(clone, 'add', '-A');
    git(clone, 'commit', '-q', '--no-verify', '-m', branch);
    const push = tryGit(clone, 'push', 'origin', branch);
    t.not(push.status, 0, branch);
    t.regex(push.stderr, expected, branch);
  }
});

test('records that contradict themselves are refused: available without size, checksum or location, times in the future', async (t) => {
  const { clone } = await serverAndClone();
  const incomplete = imageRecord();
  delete incomplete['checksum'];
  delete incomplete['size'];
  delete incomplete['locations'];
  const future = imageRecord({ uploaded_at: '2099-01-01T00:00:00.000Z', series: 'pinned' });
  await commitRecords(clone, 'contradictions', [incomplete, future]);
  const push = tryGit(clone, 'push', 'origin', 'contradictions');
  t.not(push.status, 0);
  for (const field of ['size', 'checksum', 'locations']) t.regex(push.stderr, new RegExp(`${recordFile(incomplete.id)}: ${field}: .*\\[available-complete\\]`));
  t.regex(push.stderr, new RegExp(`${recordFile(future.id)}: uploaded_at: .*2099.* lies in the future \\[future-date\\]`));
  const validate = await runVisor(['catalog', 'validate', clone]);
  t.is(validate.code, 1, 'catalog validate applies the same rules');
});

test('a merge commit is checked for what it adds itself, and --base takes revisions only', async (t) => {
  const { clone } = await serverAndClone({ publicCatalogue: true });
  git(clone, 'checkout', '-q', '-B', 'side', 'origin/main');
  await writeRecordFile(clone, imageRecord());
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', 'side');
  git(clone, 'checkout', '-q', '-B', 'sneaky', 'origin/main');
  git(clone, 'merge', '-q', '--no-commit', '--no-ff', 'side');
  const secret = imageRecord({ access: 'private' });
  await writeRecordFile(clone, secret);
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', 'a merge that adds a private record of its own');
  git(clone, 'rm', '-q', recordFile(secret.id));
  git(clone, 'commit', '-q', '--no-verify', '-m', 'and takes it out again');
  const push = tryGit(clone, 'push', 'origin', 'sneaky');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${recordFile(secret.id)}: access: .*\\[public-catalogue\\]`));
  const option = await runVisor(['catalog', 'validate', clone, '--base', '--output=/tmp/visor-should-not-exist']);
  t.is(option.code, 2);
  t.regex(option.stderr, /a revision, not an option/);
});

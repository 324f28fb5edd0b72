import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { CatalogWriter } from '../src/catalog/CatalogWriter.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { GitRunner } from '../src/git/GitRunner.ts';
import { gitAsync, statusWhenSettled, tempDir } from './helpers/gitRepos.ts';
import { pollUntil } from './helpers/polling.ts';
import { makeKey } from './helpers/sshKeys.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { checkCommitSignature } from '../src/trust/CommitSignature.ts';
import { readFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';

const author = { name: 'pat', email: 'pat@visor.invalid' };

async function openWriter(options: { signingKey?: SshPrivateKey } = {}): Promise<{ dir: string; writer: CatalogWriter }> {
  const dir = join(await tempDir('visor-writer-'), 'catalog');
  await initCatalog(dir);
  const writer = new CatalogWriter(dir, new GitRunner(dir), options);
  await writer.open();
  return { dir, writer };
}

function change(content: string | null, id = randomUUID()) {
  return { path: `images/${id.slice(0, 2)}/${id}.json`, content };
}

async function out(dir: string, ...args: string[]): Promise<string> {
  const r = await gitAsync(dir, ...args);
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

test('every write is a commit on the branch, with its author, and the index follows once writes pause', async (t) => {
  const { dir, writer } = await openWriter();
  const c = change('{"a":1}\n');
  const commit = await writer.commit({ changes: [c], author, message: 'first' });
  t.is(await out(dir, 'rev-parse', 'HEAD'), commit);
  t.is(await out(dir, 'show', `HEAD:${c.path}`), '{"a":1}');
  t.is(await out(dir, 'log', '-1', '--format=%an <%ae>|%cn|%s'), 'pat <pat@visor.invalid>|VISOR daemon|first');
  await writer.commit({ changes: [{ path: c.path, content: null }], author, message: 'gone' });
  t.is(await out(dir, 'ls-tree', '-r', '--name-only', 'HEAD', 'images'), 'images/.gitkeep');
  t.is(await statusWhenSettled(dir), '');
  await writer.close();
});

test('a stop before the index caught up is mended at the next open', async (t) => {
  const { dir, writer } = await openWriter();
  const mark = join(dir, '.git', 'visor-index-stale');
  await writer.commit({ changes: [change('{"b":2}\n')], author, message: 'lagging' });
  t.true(existsSync(mark), 'the lag is marked durably while it lasts');
  await writer.close();
  // What a crash at that moment leaves on disk, made by hand (a live writer would catch up by
  // itself meanwhile): the mark, and an index one commit behind HEAD.
  await out(dir, 'read-tree', 'HEAD~1');
  await writeFile(mark, '');
  t.not(await out(dir, 'status', '--porcelain'), '', 'the index lags behind HEAD');
  // The daemon started again after the crash.
  const next = new CatalogWriter(dir, new GitRunner(dir));
  await next.open();
  t.is(await out(dir, 'status', '--porcelain'), '');
  t.false(existsSync(mark));
  await next.close();
});

test('hundreds of commits stay a handful of packs with a commit-graph, and the repository stays sound', async (t) => {
  const { dir, writer } = await openWriter();
  for (let i = 0; i < 200; i++) await writer.commit({ changes: [change(`{"n":${i}}\n`)], author, message: `write ${i}` });
  await writer.close();
  const counts = Object.fromEntries((await out(dir, 'count-objects', '-v')).split('\n').map((l) => l.split(': ') as [string, string]));
  t.true(Number(counts['packs']) <= 12, `${counts['packs']} packs after 200 commits`);
  t.is(Number(counts['count']), 0, 'no loose objects');
  t.true(existsSync(join(dir, '.git', 'objects', 'info', 'commit-graphs', 'commit-graph-chain')), 'history queries have a commit-graph');
  t.is((await gitAsync(dir, 'fsck', '--no-progress')).status, 0);
  t.is(await out(dir, 'rev-list', '--count', 'HEAD'), '201');
});

test('the index catching up writes no objects, even while a repack swaps the packs underneath it', async (t) => {
  const { dir, writer } = await openWriter();
  const loose = async (): Promise<number> => Number(Object.fromEntries((await out(dir, 'count-objects', '-v')).split('\n').map((l) => l.split(': ') as [string, string]))['count']);
  await writer.commit({ changes: [change('{"swap":1}\n')], author, message: 'before the swap' });
  const before = await loose();
  // What a background repack looks like to a reader between deleting old packs and the new one
  // becoming visible: the commit's blob is in no pack it can see.
  const packs = join(dir, '.git', 'objects', 'pack');
  const aside = join(await tempDir('visor-packs-'), 'aside');
  await mkdir(aside);
  for (const name of await readdir(packs)) await rename(join(packs, name), join(aside, name));
  await pollUntil(() => existsSync(join(dir, '.git', 'visor-index-stale')), (lagging) => !lagging, { within: 5000 });
  for (const name of await readdir(aside)) await rename(join(aside, name), join(packs, name));
  t.is(await loose(), before, 'no loose copy of the blob');
  t.is(await statusWhenSettled(dir), '');
  await writer.close();
  t.is((await gitAsync(dir, 'fsck', '--no-progress')).status, 0);
});

test('a commit whose branch cannot be moved fails with git\'s reason, and the next one works', async (t) => {
  const { dir, writer } = await openWriter();
  await writer.commit({ changes: [change('{"first":1}\n')], author, message: 'first' });
  const head = await out(dir, 'rev-parse', 'HEAD');
  const lock = join(dir, '.git', 'refs', 'heads', 'main.lock');
  await writeFile(lock, '');
  const refused = change('{"second":2}\n');
  const error = await t.throwsAsync(writer.commit({ changes: [refused], author, message: 'second' }));
  t.regex(error.message, /main\.lock/, 'the reason names what stood in the way');
  t.notRegex(error.message, /moved outside the daemon/);
  t.is(await out(dir, 'rev-parse', 'HEAD'), head);
  t.false(existsSync(join(dir, refused.path)), 'the refused change is not left in the tree');
  await unlink(lock);
  await writer.commit({ changes: [change('{"third":3}\n')], author, message: 'third' });
  t.is(await out(dir, 'rev-list', '--count', 'HEAD'), '3');
  await writer.close();
});

test('once closed, the writer refuses writes instead of starting git again, and a second close is harmless', async (t) => {
  const { dir, writer } = await openWriter();
  const queued = writer.commit({ changes: [change('{"queued":1}\n')], author, message: 'queued before the close' });
  const closing = writer.close();
  await queued;
  await closing;
  const late = change('{"late":1}\n');
  const error = await t.throwsAsync(writer.commit({ changes: [late], author, message: 'after the close' }));
  t.regex(error.message, /closed/);
  await writer.close();
  t.is(await out(dir, 'rev-list', '--count', 'HEAD'), '2', 'the queued write went in, the late one did not');
  t.false(existsSync(join(dir, late.path)));
});

test('signing, every commit goes on the branch signed, the branch moves forward only, and repacks keep the signed copies packed', async (t) => {
  const keyDir = await tempDir('visor-writer-key-');
  const made = makeKey(keyDir, 'instance');
  const signingKey = parsePrivateKeyFile(await readFile(made.file, 'utf8'));
  const { dir, writer } = await openWriter({ signingKey });
  await writer.signCreationCommit();
  for (let i = 0; i < 70; i++) await writer.commit({ changes: [change(`{"n":${i}}\n`)], author, message: `write ${i}` });
  for (const id of (await out(dir, 'rev-list', 'HEAD')).split('\n')) {
    const check = checkCommitSignature(execFileSync('git', ['-C', dir, 'cat-file', 'commit', id]));
    t.is(check.state === 'good' ? check.key.fingerprint : check.state, made.fingerprint, `commit ${id}`);
  }
  t.is(await out(dir, 'log', '-1', '--format=%an <%ae>|%cn|%s'), 'pat <pat@visor.invalid>|VISOR daemon|write 69');
  t.is(await out(dir, 'for-each-ref', '--format=%(refname)'), 'refs/heads/main', 'no scratch ref is left behind');
  // A branch moved by someone else meanwhile is left where they put it, and the write is refused.
  const elsewhere = await out(dir, 'commit-tree', 'HEAD~1^{tree}', '-p', 'HEAD~1', '-m', 'someone else');
  await out(dir, 'update-ref', 'refs/heads/main', elsewhere);
  const moved = await t.throwsAsync(writer.commit({ changes: [change('{"late":1}\n')], author, message: 'on a moved branch' }));
  t.regex(moved.message, /moved outside the daemon|not updating|does not contain/i);
  t.is(await out(dir, 'rev-parse', 'HEAD'), elsewhere, 'left where they put it');
  await writer.close();
  const counts = Object.fromEntries((await out(dir, 'count-objects', '-v')).split('\n').map((l) => l.split(': ') as [string, string]));
  t.true(Number(counts['count']) <= 10, `${counts['count']} loose objects: the signed commits since the last repack only`);
  t.is((await gitAsync(dir, 'fsck', '--no-progress', '--no-dangling')).status, 0);
});

test('a writer opens on its branch and its commit: with a file named HEAD in the tree, and on a branch with no commit yet', async (t) => {
  const { dir, writer } = await openWriter();
  const first = await writer.commit({ changes: [{ path: 'HEAD', content: 'not a ref\n' }], author, message: 'a file named HEAD' });
  await writer.close();
  // HEAD is both a file of the tree and the writer's ref: the ref is what counts.
  const again = new CatalogWriter(dir, new GitRunner(dir));
  await again.open();
  t.is(again.headCommit, first);
  t.is(again.branchName, await out(dir, 'rev-parse', '--abbrev-ref', 'HEAD'));
  const second = await again.commit({ changes: [change('{"c":3}\n')], author, message: 'after it' });
  t.is(await out(dir, 'rev-parse', `${second}^`), first);
  await again.close();

  const empty = join(await tempDir('visor-writer-'), 'unborn');
  await gitAsync(await tempDir('visor-writer-'), 'init', '-q', empty);
  const unborn = new CatalogWriter(empty, new GitRunner(empty));
  await unborn.open();
  t.is(unborn.headCommit, undefined);
  t.is(unborn.branchName, (await out(empty, 'symbolic-ref', 'HEAD')).replace('refs/heads/', ''));
  const root = await unborn.commit({ changes: [change('{"d":4}\n')], author, message: 'first of all' });
  t.is(await out(empty, 'rev-parse', 'HEAD'), root);
  await unborn.close();
});

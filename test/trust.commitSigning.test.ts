/**
 * A catalogue that cannot be forged: the daemon signs every commit it makes with its instance key,
 * as `git commit -S` with `gpg.format=ssh` would, so the real `git verify-commit` checks them; a
 * follower or mirror that asks for signed commits refuses an update carrying a commit that is
 * unsigned, signed by a key it does not know, or changed after signing.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { mirrorOnce } from '../src/sync/CatalogMirror.ts';
import { checkCommitSignature, signCommitBody } from '../src/trust/CommitSignature.ts';
import { parsePrivateKeyFile, parsePublicKeyLine } from '../src/trust/SshKeys.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { git, imageRecord, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey, type TestKey } from './helpers/sshKeys.ts';
import { publishHeadStatement } from './helpers/trustClones.ts';

/** `git verify-commit` with an allowed-signers file naming these keys: whether git calls it good. */
function gitVerifies(dir: string, commit: string, keys: string[]): boolean {
  const allowed = join(dir, '.git', `allowed-${Math.random().toString(36).slice(2)}`);
  execFileSync('sh', ['-c', 'cat > "$1"', 'sh', allowed], { input: keys.map((k) => `signer@test namespaces="git" ${k}\n`).join('') });
  return tryGit(dir, '-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', commit).status === 0;
}

/** A commit signed by the real git (`git commit -S`, gpg.format=ssh) with `key`, or unsigned without one. */
async function commitRecord(dir: string, name: string, key?: TestKey): Promise<string> {
  await writeRecordFile(dir, imageRecord({ origin: 'public.example', name }));
  git(dir, 'add', '-A');
  const signing = key ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key.file}`, 'commit', '-S'] : ['commit'];
  git(dir, ...signing, '-q', '-m', name);
  return git(dir, 'rev-parse', 'HEAD').trim();
}

function keyOf(key: TestKey) {
  return parsePrivateKeyFile(readFileSync(key.file, 'utf8'));
}

const publicImage = (d: TestDaemon, name: string) => fetch(`${d.url}/images`, authed(d.token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, access: 'public' }) }));

test('a commit signed here verifies with the real git, one signed by git verifies here, and a changed or unsigned one does not', async (t) => {
  const dir = await tempDir('visor-commit-sig-');
  await initCatalog(dir);
  const alice = makeKey(dir, 'alice');
  const mallory = makeKey(dir, 'mallory');
  const byGit = await commitRecord(dir, 'by-git', alice);
  const body = (id: string) => execFileSync('git', ['-C', dir, 'cat-file', 'commit', id]);
  // git's own signature, checked here.
  const checked = checkCommitSignature(body(byGit));
  t.is(checked.state, 'good');
  t.is(checked.state === 'good' ? checked.key.fingerprint : '', alice.fingerprint);
  // Ours, checked by git: the signed copy of an unsigned commit.
  const unsigned = await commitRecord(dir, 'unsigned');
  t.is(checkCommitSignature(body(unsigned)).state, 'unsigned');
  const signed = execFileSync('git', ['-C', dir, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: signCommitBody(body(unsigned), keyOf(alice)), encoding: 'utf8' }).trim();
  t.true(gitVerifies(dir, signed, [alice.publicLine]), 'git verify-commit accepts the daemon-style signature');
  t.false(gitVerifies(dir, signed, [mallory.publicLine]), 'and only for the key that made it');
  t.false(gitVerifies(dir, unsigned, [alice.publicLine]));
  // Re-signing replaces the signature, as a chain re-signed after a merge needs.
  const resigned = signCommitBody(body(signed), keyOf(mallory));
  t.is(resigned.toString().match(/^gpgsig /gm)?.length, 1);
  const bySigner = checkCommitSignature(resigned);
  t.is(bySigner.state === 'good' ? bySigner.key.fingerprint : '', mallory.fingerprint);
  // A message changed after signing: both git and this check refuse it.
  const forged = execFileSync('git', ['-C', dir, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: Buffer.from(body(signed).toString().replace(/unsigned\n$/, 'approved by alice\n')), encoding: 'utf8' }).trim();
  t.is(checkCommitSignature(body(forged)).state, 'bad');
  t.false(gitVerifies(dir, forged, [alice.publicLine]));
});

test("the daemon signs every commit on its branch with its instance key, and a follower's merge commits with its own", async (t) => {
  const pub = await startTestDaemon({ config: { instance_name: 'pub.example' } });
  let corp: TestDaemon | undefined;
  try {
    t.is((await publicImage(pub, 'signed-1')).status, 201);
    t.is((await publicImage(pub, 'signed-2')).status, 201);
    const pubKey = ((await (await fetch(`${pub.url}/catalog/HEAD`)).json()) as { key: string }).key;
    const catalogue = join(pub.dataDir, 'catalog');
    const commits = git(catalogue, 'rev-list', 'HEAD').trim().split('\n');
    t.is(commits.length, 3, 'the creation commit and two writes');
    for (const c of commits) t.true(gitVerifies(catalogue, c, [pubKey]), `commit ${c} is signed by the instance key`);

    // A follower with images of its own merges, and signs the merge; the upstream's commits keep theirs.
    corp = await startTestDaemon({ config: { instance_name: 'corp.example', upstreams: { pub: { url: `${pub.url}/catalog.git`, interval_seconds: 0, head_key: pubKey, signed_commits: true } } } });
    t.is((await publicImage(corp, 'corp-own')).status, 201);
    const sync = (await (await fetch(`${corp.url}/sync`, authed(corp.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string; problems: unknown[] }> };
    t.is(sync.results[0]!.mode, 'merge', JSON.stringify(sync.results[0]));
    const corpKey = ((await (await fetch(`${corp.url}/catalog/HEAD`)).json()) as { key: string }).key;
    const corpCatalogue = join(corp.dataDir, 'catalog');
    const head = git(corpCatalogue, 'rev-parse', 'HEAD').trim();
    t.true(gitVerifies(corpCatalogue, head, [corpKey]), 'the merge commit is signed by the follower');
    t.is(git(corpCatalogue, 'rev-parse', 'HEAD^2').trim(), commits[0]!, "the upstream's head is merged as it was, not rewritten");
    t.true(gitVerifies(corpCatalogue, `${head}^2`, [pubKey]));
    t.is(git(corpCatalogue, 'status', '--porcelain', '--untracked-files=no').trim(), '', 'the working tree matches the signed branch');
  } finally {
    await corp?.stop();
    await pub.stop();
  }
});

test('a follower asking for signed commits refuses an unsigned commit, one by an unknown key, and one changed after signing, naming each; commit_keys admits another signer', async (t) => {
  const root = await tempDir('visor-commit-follow-');
  const upstream = join(root, 'upstream');
  await initCatalog(upstream);
  const owner = makeKey(root, 'owner');
  const mallory = makeKey(root, 'mallory');
  const publishHead = () => publishHeadStatement(upstream, keyOf(owner));
  await commitRecord(upstream, 'first', owner);
  publishHead();
  const settings = (extra: Record<string, unknown> = {}) => ({ upstreams: { public: { url: upstream, interval_seconds: 0, head_key: owner.publicLine, signed_commits: true, ...extra } } });
  const logged: string[] = [];
  const d = await startTestDaemon({ config: settings(), logger: pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(chunk.toString()), done()) })) });
  try {
    const sync = async () => ((await (await fetch(`${d.url}/sync`, authed(d.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string; problems: Array<{ rule: string; message: string }> }> }).results[0]!;
    t.is((await sync()).mode, 'adopted', 'a first sync checks the tip: signed by the pinned key');
    const taken = git(upstream, 'rev-parse', 'HEAD').trim();

    const unsigned = await commitRecord(upstream, 'unsigned');
    await commitRecord(upstream, 'signed-after', owner);
    publishHead();
    const refused = await sync();
    t.is(refused.mode, 'refused');
    t.deepEqual(refused.problems.map((p) => p.rule), ['commit-unsigned'], 'the signed commit on top does not vouch for the one below');
    t.regex(refused.problems[0]!.message, new RegExp(`upstream public: commit ${unsigned.slice(0, 12)} is not signed`));
    // The operator of a sync on a timer reads why in the log, not only that it was refused.
    t.true(logged.some((l) => l.includes('"upstream sync"') && l.includes(`commit-unsigned: upstream public: commit ${unsigned.slice(0, 12)}`)), 'the log says why');

    git(upstream, 'reset', '-q', '--hard', taken);
    await commitRecord(upstream, 'by-mallory', mallory);
    publishHead();
    const byMallory = await sync();
    t.deepEqual(byMallory.problems.map((p) => p.rule), ['commit-signer']);
    t.true(byMallory.problems[0]!.message.includes(mallory.fingerprint), byMallory.problems[0]!.message);

    // A signed commit whose message was changed afterwards (the signature copied over).
    git(upstream, 'reset', '-q', '--hard', taken);
    const good = await commitRecord(upstream, 'good', owner);
    const changed = execFileSync('git', ['-C', upstream, 'cat-file', 'commit', good], { encoding: 'utf8' }).replace(/good\n$/, 'good, and approved\n');
    git(upstream, 'update-ref', 'refs/heads/main', execFileSync('git', ['-C', upstream, 'hash-object', '-t', 'commit', '-w', '--stdin'], { input: changed, encoding: 'utf8' }).trim());
    publishHead();
    t.deepEqual((await sync()).problems.map((p) => p.rule), ['commit-signature']);
    t.is(git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD').trim(), taken, 'nothing of the refused updates was merged');

    git(upstream, 'update-ref', 'refs/heads/main', good);
    publishHead();
    t.is((await sync()).mode, 'fast-forward');
  } finally {
    await d.stop();
  }
  // An upstream that carries another signer's commits (its own upstream's) names that key.
  git(upstream, 'reset', '-q', '--hard', git(upstream, 'rev-parse', 'HEAD').trim());
  const d2 = await startTestDaemon({ config: settings({ commit_keys: [mallory.publicLine] }) });
  try {
    await fetch(`${d2.url}/sync`, authed(d2.token, { method: 'POST' }));
    await commitRecord(upstream, 'from-their-upstream', mallory);
    publishHead();
    const r = ((await (await fetch(`${d2.url}/sync`, authed(d2.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string }> }).results[0]!;
    t.is(r.mode, 'fast-forward', JSON.stringify(r));
  } finally {
    await d2.stop();
  }
});

test('visor mirror with signed commits checks each update, refuses an unsigned commit, and leaves git verify-commit working in the clone', async (t) => {
  const root = await tempDir('visor-commit-mirror-');
  const source = join(root, 'source');
  await initCatalog(source);
  const owner = makeKey(root, 'owner');
  const publishHead = () => publishHeadStatement(source, keyOf(owner));
  await commitRecord(source, 'first', owner);
  publishHead();
  const mirror = join(root, 'mirror');
  const options = { headKey: owner.publicLine, signedCommits: true };
  t.true((await mirrorOnce(source, mirror, options)).cloned);
  await commitRecord(source, 'second', owner);
  publishHead();
  const round = await mirrorOnce(source, mirror, options);
  t.is(round.after, git(source, 'rev-parse', 'HEAD').trim());
  t.is(tryGit(mirror, 'verify-commit', 'HEAD').status, 0, 'the clone knows the allowed signers');
  const at = round.after!;
  const unsigned = await commitRecord(source, 'unsigned');
  publishHead();
  const refused = await mirrorOnce(source, mirror, options).catch((e: unknown) => e as Error);
  t.regex(String(refused), new RegExp(`commit ${unsigned.slice(0, 12)} is not signed \\(rule commit-unsigned\\)`));
  t.is(git(mirror, 'rev-parse', 'HEAD').trim(), at, 'the mirror stays where it was');
  await t.throwsAsync(mirrorOnce(source, join(root, 'other'), { signedCommits: true }), { message: /head_key|--head-key|pinned/ });
});

test('signed commits need the head key pinned, and commit_keys are key lines: the configuration says which field', (t) => {
  const env = { HOME: '/h' };
  t.regex(JSON.stringify(t.throws(() => loadConfig({ env, overrides: { upstreams: { pub: { url: '/x', signed_commits: true } } } }))), /upstreams\.pub\.signed_commits/);
  const line = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGGF+NZ/T8ObfnPEWzuTZkgKs7hJtKfIQuyUN2dCvcz4';
  t.regex(JSON.stringify(t.throws(() => loadConfig({ env, overrides: { upstreams: { pub: { url: '/x', head_key: line, signed_commits: true, commit_keys: ['ssh-rsa AAAA'] } } } }))), /upstreams\.pub\.commit_keys\[0\]/);
  t.deepEqual(loadConfig({ env, overrides: { upstreams: { pub: { url: '/x', head_key: line, signed_commits: true } } } }).upstreams[0]!.commitKeys, []);
  t.true(loadConfig({ env }).catalog.signCommits, 'the daemon signs its commits by default');
  t.false(loadConfig({ env: { ...env, VISOR_SIGN_COMMITS: 'false' } }).catalog.signCommits);
  t.is(parsePublicKeyLine(line).fingerprint.startsWith('SHA256:'), true);
});

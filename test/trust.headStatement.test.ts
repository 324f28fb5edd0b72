/**
 * A catalogue that cannot be frozen: an instance signs its catalogue's head with an expiring
 * statement (TUF's timestamp role), and a follower that pins its key refuses an upstream whose
 * statement is missing, forged, expired (a freeze) or ahead of the branch it serves (a stale copy).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { mirrorOnce } from '../src/sync/CatalogMirror.ts';
import { canonicalBytes } from '../src/trust/CanonicalJson.ts';
import { HEAD_NAMESPACE, HEAD_STATEMENT_REF, serializeHeadStatement, signHeadStatement, verifyHeadStatement, type SignedHeadStatement } from '../src/trust/HeadStatement.ts';
import { parsePrivateKeyFile, parsePublicKeyLine, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { git, gitAsync, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey, sshKeygenVerify } from './helpers/sshKeys.ts';
import { runVisor } from './helpers/cli.ts';

const HEAD = 'a'.repeat(40);

/** A catalogue with a key of its own, publishing head statements as an instance would (refs/visor/head). */
async function signingCatalogue(prefix: string): Promise<{ root: string; dir: string; keyLine: string; key: SshPrivateKey; publish: (signer: SshPrivateKey, head: string, now?: Date) => void }> {
  const root = await tempDir(prefix);
  const dir = join(root, 'catalogue');
  await initCatalog(dir);
  const made = makeKey(root, 'instance-key');
  return {
    root,
    dir,
    keyLine: made.publicLine,
    key: parsePrivateKeyFile(await readFile(made.file, 'utf8')),
    publish: (signer, head, now = new Date()) => {
      const file = signHeadStatement(signer, { instance: 'public.example', branch: 'main', head, now, validitySeconds: 3600 });
      const blob = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: serializeHeadStatement(file), encoding: 'utf8' }).trim();
      git(dir, 'update-ref', HEAD_STATEMENT_REF, blob);
    },
  };
}

test('a head statement verifies with the pinned key, and with ssh-keygen in its own namespace; anything else is refused by rule', async (t) => {
  const dir = await tempDir('visor-head-');
  const upstreamKey = makeKey(dir, 'upstream');
  const key = parsePrivateKeyFile(await readFile(upstreamKey.file, 'utf8'));
  const other = parsePrivateKeyFile(await readFile(makeKey(dir, 'other').file, 'utf8'));
  const pinned = parsePublicKeyLine(upstreamKey.publicLine);
  const now = new Date();
  const file = signHeadStatement(key, { instance: 'pub.example', branch: 'main', head: HEAD, now, validitySeconds: 3600 });
  t.is(verifyHeadStatement(serializeHeadStatement(file), pinned, { branch: 'main', now }).head, HEAD);
  // Anyone can check it without VISOR, as with endorsements: the canonical statement, the namespace.
  t.is(sshKeygenVerify(upstreamKey, 'pub.example', canonicalBytes(file.statement), file.signature, dir, HEAD_NAMESPACE).status, 0);
  t.not(sshKeygenVerify(upstreamKey, 'pub.example', canonicalBytes(file.statement), file.signature, dir, 'visor-endorsement').status, 0, 'not valid as an endorsement');

  const refusal = (text: string, at = now) => {
    try {
      verifyHeadStatement(text, pinned, { branch: 'main', now: at });
      return 'accepted';
    } catch (error) {
      return (error as { rule?: string }).rule ?? String(error);
    }
  };
  const moved: SignedHeadStatement = { ...file, statement: { ...file.statement, head: 'b'.repeat(40) } };
  t.is(refusal(serializeHeadStatement(moved)), 'head-signature', 'a statement changed after signing');
  t.is(refusal(serializeHeadStatement(signHeadStatement(other, { instance: 'pub.example', branch: 'main', head: HEAD, now, validitySeconds: 3600 }))), 'head-signature', 'signed by a key that is not pinned');
  t.is(refusal(serializeHeadStatement(file), new Date(now.getTime() + 3601_000)), 'head-expired');
  t.is(refusal(serializeHeadStatement(signHeadStatement(key, { instance: 'pub.example', branch: 'dev', head: HEAD, now, validitySeconds: 3600 }))), 'head-statement', 'another branch');
  t.is(refusal('{"statement": {}, "signature": ""}'), 'head-statement');
  t.is(refusal('not json'), 'head-statement');
});

test("an instance publishes its signed head beside the branch, and a follower pinning its key syncs from it", async (t) => {
  const pub = await startTestDaemon({ config: { instance_name: 'pub.example' } });
  let corp: Awaited<ReturnType<typeof startTestDaemon>> | undefined;
  try {
    const created = await fetch(`${pub.url}/images`, authed(pub.token, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'signed-head', access: 'public' }) }));
    t.is(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    // The publisher looks for new commits every two seconds.
    let answer: { commit: string; signed_head?: SignedHeadStatement; key?: string } = { commit: '' };
    for (let i = 0; i < 100; i++) {
      answer = (await (await fetch(`${pub.url}/catalog/HEAD`)).json()) as typeof answer;
      if (answer.signed_head?.statement.head === answer.commit) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.is(answer.signed_head?.statement.head, answer.commit);
    t.is(answer.signed_head?.statement.instance, 'pub.example');
    t.regex(answer.key ?? '', /^ssh-ed25519 \S+ visor-instance@pub\.example$/);
    // The Git endpoint serves the statement's ref, and only that one besides the branches.
    // Async: the daemon answers in this process, which a synchronous git would block.
    const refs = (await gitAsync(await tempDir(), 'ls-remote', `${pub.url}/catalog.git`)).stdout;
    t.regex(refs, new RegExp(`\\s${HEAD_STATEMENT_REF}\\n?`));
    t.notRegex(refs, /refs\/visor\/(?!head\b)/);

    corp = await startTestDaemon({ config: { instance_name: 'corp.example', upstreams: { pub: { url: `${pub.url}/catalog.git`, interval_seconds: 0, head_key: answer.key! } } } });
    const sync = (await (await fetch(`${corp.url}/sync`, authed(corp.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string; problems: unknown[] }> };
    t.is(sync.results[0]!.mode, 'adopted', JSON.stringify(sync.results[0]));
    t.is((await fetch(`${corp.url}/images/${id}`)).status, 200);
  } finally {
    await corp?.stop();
    await pub.stop();
  }
});

test('a follower pinning the upstream key refuses a missing, forged, expired or stale head statement, and takes a good one', async (t) => {
  const { root, dir: upstream, keyLine, key, publish: signAndPublish } = await signingCatalogue('visor-head-follow-');
  const mallory = parsePrivateKeyFile(await readFile(makeKey(root, 'mallory').file, 'utf8'));
  const commitRecord = async (name: string) => {
    await writeRecordFile(upstream, imageRecord({ origin: 'public.example', name }));
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', name);
    return git(upstream, 'rev-parse', 'HEAD').trim();
  };
  const publish = (signer: SshPrivateKey, head: string, options: { now?: Date } = {}) => signAndPublish(signer, head, options.now);
  const first = await commitRecord('first');

  const d = await startTestDaemon({ config: { upstreams: { public: { url: upstream, interval_seconds: 0, head_key: keyLine } } } });
  try {
    const sync = async () => ((await (await fetch(`${d.url}/sync`, authed(d.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string; problems: Array<{ rule: string; message: string }> }> }).results[0]!;
    const refusedBy = async () => {
      const r = await sync();
      return r.mode === 'refused' ? r.problems.map((p) => p.rule).join(',') : r.mode;
    };
    t.is(await refusedBy(), 'head-statement', 'an upstream that publishes no statement');
    publish(mallory, first);
    t.is(await refusedBy(), 'head-signature', 'a statement by another key');
    publish(key, first, { now: new Date(Date.now() - 7200_000) });
    const frozen = await sync();
    t.is(frozen.mode, 'refused');
    t.is(frozen.problems[0]!.rule, 'head-expired');
    t.regex(frozen.problems[0]!.message, /stopped refreshing|frozen/);
    // A copy of the catalogue older than the head its owner signed: the statement is fresh, the branch stale.
    const second = await commitRecord('second');
    publish(key, second);
    git(upstream, 'update-ref', 'refs/heads/main', first);
    t.is(await refusedBy(), 'head-behind');
    git(upstream, 'update-ref', 'refs/heads/main', second);
    t.is((await sync()).mode, 'adopted');
    // The branch may run ahead of the statement (it is re-signed after commits, not with them).
    await commitRecord('third');
    t.is((await sync()).mode, 'fast-forward');
  } finally {
    await d.stop();
  }
});

test('visor mirror with the source key pinned refuses a source without a fresh statement and stays where it is', async (t) => {
  const { root, dir: source, keyLine, key, publish: signAndPublish } = await signingCatalogue('visor-head-mirror-');
  const publish = (options: { now?: Date } = {}) => signAndPublish(key, git(source, 'rev-parse', 'HEAD').trim(), options.now);
  const mirror = join(root, 'mirror');
  const pinned = { headKey: keyLine };
  const refused = await mirrorOnce(source, mirror, pinned).catch((e: unknown) => e as Error);
  t.regex(String(refused), /publishes no signed head statement/);
  t.false(existsSync(mirror), 'a refused first clone leaves nothing');
  publish();
  t.true((await mirrorOnce(source, mirror, pinned)).cloned);
  // Offline, visor verify checks the clone's statement too (a policy asking for no endorsement: the head alone is judged).
  const policy = join(root, 'no-endorsement.json');
  await writeFile(policy, '{"threshold": 0}');
  const image = imageRecord({ name: 'checked-offline' });
  await writeRecordFile(source, image);
  git(source, 'add', '-A');
  git(source, 'commit', '-q', '-m', 'an image');
  publish();
  await mirrorOnce(source, mirror, pinned);
  const verified = await runVisor(['verify', image.id, '--catalog', mirror, '--policy', policy, '--head-key', keyLine]);
  t.is(verified.code, 0, verified.stderr);
  t.regex(verified.stderr, /signed by public\.example/);
  t.not((await runVisor(['verify', image.id, '--catalog', mirror, '--policy', policy, '--head-key', makeKey(root, 'someone-else').publicLine])).code, 0, 'another key: refused');

  const at = git(mirror, 'rev-parse', 'HEAD').trim();
  await writeRecordFile(source, imageRecord({ name: 'later' }));
  git(source, 'add', '-A');
  git(source, 'commit', '-q', '-m', 'later');
  publish({ now: new Date(Date.now() - 7200_000) });
  t.regex(String(await mirrorOnce(source, mirror, pinned).catch((e: unknown) => e as Error)), /expired/);
  t.is(git(mirror, 'rev-parse', 'HEAD').trim(), at, 'the mirror stays where it was');
  const frozen = await runVisor(['verify', image.id, '--catalog', mirror, '--policy', policy, '--head-key', keyLine]);
  t.not(frozen.code, 0);
  t.regex(frozen.stderr, /head-expired/);
  publish();
  const round = await mirrorOnce(source, mirror, pinned);
  t.is(round.after, git(source, 'rev-parse', 'HEAD').trim());
});

test('a pinned head key must be an ssh-ed25519 public key line, and the validity a number of seconds: the configuration says which field', (t) => {
  const env = { HOME: '/h' };
  const badKey = t.throws(() => loadConfig({ env, overrides: { upstreams: { pub: { url: '/x', head_key: 'ssh-rsa AAAAB3Nza' } } } }));
  t.regex(JSON.stringify(badKey), /upstreams\.pub\.head_key/);
  t.regex(String(t.throws(() => loadConfig({ env: { ...env, VISOR_HEAD_VALIDITY_SECONDS: 'soon' } }))), /VISOR_HEAD_VALIDITY_SECONDS/);
  t.is(loadConfig({ env }).catalog.headValiditySeconds, 86400);
});

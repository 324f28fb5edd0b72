/**
 * TUF's root role over a catalogue's endorser list: once a catalogue has trust roots
 * (trust/root.json), the list changes only with a threshold of the roots' signatures
 * (trust/signatures.json), at a growing version; the roots rotate only with a threshold of the old
 * ones and of the new ones, and never go away. The server's hook, and CI on a whole clone, judge alike.
 */
import test from 'ava';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { signTrustFile } from '../src/trust/TrustSigning.ts';
import { parseTrustSignatures, trustMessage, type SignedTrustFile } from '../src/trust/TrustSignatures.ts';
import { git, imageRecord, serverAndClone, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey, sshKeygenVerify, type TestKey } from './helpers/sshKeys.ts';
import { runVisor } from './helpers/cli.ts';
import { validateCatalog, validateChanges } from '../src/catalog/CatalogValidator.ts';
import { formatProblem } from '../src/catalog/CatalogCheckRun.ts';

type Name = 'alice' | 'bob' | 'carol' | 'dave' | 'mallory' | 'erin' | 'frank' | 'grace';
const keys = {} as Record<Name, { test: TestKey; key: SshPrivateKey }>;
let clone: string;
let keyDir: string;
const identity = (n: Name) => `${n}@site-${n[0]}`;

const at = (path: string) => join(clone, path);
const working = (path: string) => readFile(at(path), 'utf8').catch(() => undefined);
const committed = async (path: string) => {
  const r = tryGit(clone, 'show', `HEAD:${path}`);
  return r.status === 0 ? r.stdout : undefined;
};

async function writeRoots(version: number, threshold: number, names: Name[]): Promise<void> {
  await writeFile(at('trust/root.json'), `${JSON.stringify({ version, threshold, roots: names.map((n) => ({ identity: identity(n), key: keys[n].test.publicLine })) }, null, 2)}\n`);
}

async function writeEndorsers(names: Name[]): Promise<void> {
  await writeFile(at('trust/endorsers.json'), `${JSON.stringify({ endorsers: names.map((n) => ({ identity: identity(n), keys: [keys[n].test.publicLine] })) }, null, 2)}\n`);
}

async function sign(file: SignedTrustFile, ...names: Name[]): Promise<void> {
  for (const n of names) {
    const signed = await signTrustFile(file, keys[n].key, { working, committed });
    await writeFile(at('trust/signatures.json'), signed.text);
  }
}

function commit(message: string): void {
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', message);
}

/**
 * Makes a branch from main by `change` and pushes it (`push`: the server's pre-receive hook judges
 * it), or judges it here with what that hook runs (validateChanges, `visor catalog validate --base`):
 * a push costs a few seconds of hook start-up on a loaded machine.
 */
async function tryChange(branch: string, change: () => Promise<void>, how: 'push' | 'check' = 'push'): Promise<{ status: number; stderr: string }> {
  git(clone, 'checkout', '-q', '-B', branch, 'origin/main');
  await change();
  commit(branch);
  if (how === 'push') return tryGit(clone, 'push', 'origin', `${branch}:main`);
  const problems = await validateChanges(clone, 'origin/main');
  return { status: problems.length === 0 ? 0 : 1, stderr: problems.map((p) => formatProblem(p, {})).join('\n') };
}

const esc = (s: string) => s.replace(/[+/.*?()[\]]/g, '\\$&');

test.before(async () => {
  keyDir = await tempDir('visor-trust-roots-');
  for (const name of ['alice', 'bob', 'carol', 'dave', 'mallory', 'erin', 'frank', 'grace'] as const) {
    const t = makeKey(keyDir, name);
    keys[name] = { test: t, key: parsePrivateKeyFile(await readFile(t.file, 'utf8')) };
  }
  ({ clone } = await serverAndClone({ publicCatalogue: true }));
  await writeRecordFile(clone, imageRecord({ origin: 'site-a' }));
  await mkdir(at('trust'));
  await writeEndorsers(['erin']);
  commit('an image and its endorser list, no roots yet');
  const push = tryGit(clone, 'push', '-q', 'origin', 'HEAD:main');
  if (push.status !== 0) throw new Error(push.stderr);
});

test.serial('roots come in signed by their own threshold (trust on first use), with the endorser list they protect', async (t) => {
  const one = await tryChange('bootstrap-one', async () => {
    await writeRoots(1, 2, ['alice', 'bob', 'carol']);
    await sign('root.json', 'alice');
    await sign('endorsers.json', 'alice');
  });
  t.not(one.status, 0);
  t.regex(one.stderr, /trust\/root.json: signatures: trust\/root.json version 1 needs the signatures of 2 of alice@site-a, bob@site-b, carol@site-c \(its own roots: trust on first use\); got 1: alice@site-a \[root-threshold\]/);
  t.regex(one.stderr, /trust\/endorsers.json: signatures: trust\/endorsers.json version 1 needs the signatures of 2 of alice@site-a, bob@site-b, carol@site-c \(trust\/root.json version 1\); got 1: alice@site-a \[endorsers-threshold\]/);

  const two = await tryChange('bootstrap-two', async () => {
    await writeRoots(1, 2, ['alice', 'bob', 'carol']);
    await sign('root.json', 'alice', 'bob');
    await sign('endorsers.json', 'alice', 'bob');
  });
  t.is(two.status, 0, two.stderr);
  git(clone, 'fetch', '-q', 'origin');
});

test.serial('a root signature is sshsig in its own namespace: ssh-keygen -Y verify -n visor-trust-root checks it', async (t) => {
  git(clone, 'checkout', '-q', '-B', 'look', 'origin/main');
  const { signatures } = parseTrustSignatures(await working('trust/signatures.json'));
  const alices = signatures['root.json']!.signatures.find((s) => s.key === keys.alice.test.fingerprint)!;
  const message = trustMessage('root.json', 1, JSON.parse((await working('trust/root.json'))!));
  const verified = sshKeygenVerify(keys.alice.test, 'alice@site-a', message, alices.signature, keyDir, 'visor-trust-root');
  t.is(verified.status, 0, verified.output);
  t.not(sshKeygenVerify(keys.alice.test, 'alice@site-a', message, alices.signature, keyDir, 'visor-endorsement').status, 0, 'never valid as an endorsement');
});

test.serial('adding an endorser needs the threshold of the roots: one of two is refused, a non-root signature does not count, two are taken', async (t) => {
  const one = await tryChange('add-one', async () => {
    await writeEndorsers(['erin', 'dave']);
    await sign('endorsers.json', 'alice', 'mallory');
  }, 'check');
  t.not(one.status, 0);
  t.regex(one.stderr, new RegExp(`trust/endorsers.json version 2 needs the signatures of 2 of alice@site-a, bob@site-b, carol@site-c \\(trust/root.json version 1\\); got 1: alice@site-a; not counted: ${esc(keys.mallory.test.fingerprint)} \\(not a root\\) \\[endorsers-threshold\\]`));

  // Signed with the CLI, as a root would: the version is the committed one plus one, kept by the co-signer.
  git(clone, 'checkout', '-q', '-B', 'add-two', 'origin/main');
  await writeEndorsers(['erin', 'dave']);
  await sign('endorsers.json', 'alice');
  const run = await runVisor(['trust', 'sign', 'endorsers.json', '--key', keys.bob.test.file, '--catalog', clone]);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /endorsers.json version 2 signed by SHA256:/);
  const status = await runVisor(['trust', 'status', '--catalog', clone]);
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /endorsers.json version 2: met: 2 of alice@site-a, bob@site-b, carol@site-c \(the roots, version 1\); got 2: alice@site-a, bob@site-b/);
  commit('dave endorses');
  const two = tryGit(clone, 'push', 'origin', 'add-two:main');
  t.is(two.status, 0, two.stderr);
  git(clone, 'fetch', '-q', 'origin');
});

test.serial('an older signed endorser list cannot be put back: its version must grow', async (t) => {
  // The list and signatures of the bootstrap, genuinely signed by two roots: a replay.
  const old = git(clone, 'rev-parse', 'origin/main~1').trim();
  const replay = await tryChange('replay', async () => {
    for (const f of ['trust/endorsers.json', 'trust/signatures.json']) await writeFile(at(f), git(clone, 'show', `${old}:${f}`));
  }, 'check');
  t.not(replay.status, 0);
  t.regex(replay.stderr, /trust\/signatures.json: endorsers.json.version: trust\/endorsers.json changed, so its signed version must grow past 2; it is 1 .*\[endorsers-version\]/);
  t.notRegex(replay.stderr, /endorsers-threshold/, 'the signatures themselves are good: only the version gives the replay away');
});

test.serial('rotating the roots needs the old roots and the new, and the next version', async (t) => {
  const rotate = (version: number, ...signers: Name[]) => async () => {
    await writeRoots(version, 2, ['bob', 'carol', 'dave']);
    await sign('root.json', ...signers);
    await sign('endorsers.json', 'carol', 'dave');
  };
  const newOnly = await tryChange('rotate-new-only', rotate(2, 'carol', 'dave'), 'check');
  t.not(newOnly.status, 0);
  t.regex(newOnly.stderr, new RegExp(esc(`trust/root.json version 2 needs the signatures of 2 of alice@site-a, bob@site-b, carol@site-c (the old roots, version 1); got 1: carol@site-c; not counted: ${keys.dave.test.fingerprint} (not a root) [root-threshold]`)));

  const sameVersion = await tryChange('rotate-same-version', rotate(1, 'alice', 'bob', 'dave'), 'check');
  t.not(sameVersion.status, 0);
  t.regex(sameVersion.stderr, /trust\/root.json: version: trust\/root.json version 1 replaces version 1: a rotation takes the next version, 2 \[root-version\]/);

  // The endorser list still signed by the old roots alone: after the rotation it needs the new ones.
  const stale = await tryChange('rotate-stale-list', async () => {
    await writeRoots(2, 2, ['bob', 'carol', 'dave']);
    await sign('root.json', 'alice', 'bob', 'dave');
  }, 'check');
  t.not(stale.status, 0);
  t.regex(stale.stderr, /trust\/endorsers.json version 2 needs the signatures of 2 of bob@site-b, carol@site-c, dave@site-d \(trust\/root.json version 2\); got 1: bob@site-b; not counted: SHA256:\S+ \(not a root\) \[endorsers-threshold\]/);

  const good = await tryChange('rotate', rotate(2, 'alice', 'bob', 'dave'));
  t.is(good.status, 0, good.stderr);
  git(clone, 'fetch', '-q', 'origin');

  // Alice is no root any more: her signature no longer moves the list.
  const byAlice = await tryChange('after-rotation', async () => {
    await writeEndorsers(['erin']);
    await sign('endorsers.json', 'alice', 'bob');
  }, 'check');
  t.not(byAlice.status, 0);
  t.regex(byAlice.stderr, new RegExp(`got 1: bob@site-b; not counted: ${esc(keys.alice.test.fingerprint)} \\(not a root\\) \\[endorsers-threshold\\]`));
});

test.serial('the roots cannot be deleted, nor the endorser list by fewer than the threshold', async (t) => {
  const gone = await tryChange('no-roots', async () => {
    await rm(at('trust/root.json'));
  }, 'check');
  t.not(gone.status, 0);
  t.regex(gone.stderr, /trust\/root.json: \(file\): trust\/root.json cannot be deleted: removing the trust roots would remove the protection of the endorser list \[root-removed\]/);

  const noList = await tryChange('no-list', async () => {
    await rm(at('trust/endorsers.json'));
    await sign('endorsers.json', 'dave');
  }, 'check');
  t.not(noList.status, 0);
  t.regex(noList.stderr, /the deletion of trust\/endorsers.json needs the signatures of 2 of bob@site-b, carol@site-c, dave@site-d .*got 1: dave@site-d \[endorsers-threshold\]/);
});

test.serial('visor catalog validate judges a whole clone alike: the roots and the list as if newly added', async (t) => {
  git(clone, 'checkout', '-q', '-B', 'whole', 'origin/main');
  t.deepEqual(await validateCatalog(clone), []);
  await writeEndorsers(['erin', 'mallory']);
  await sign('endorsers.json', 'bob');
  const one = await runVisor(['catalog', 'validate', clone]);
  t.is(one.code, 1);
  t.regex(one.stdout, /trust\/endorsers.json: signatures: trust\/endorsers.json version 4 needs the signatures of 2 of bob@site-b, carol@site-c, dave@site-d \(trust\/root.json version 2\); got 1: bob@site-b \[endorsers-threshold\]/);
  git(clone, 'checkout', '-q', '-f', 'origin/main');
});

test.serial('two rotations in one push are judged step by step, as a TUF client walks root versions', async (t) => {
  const twoSteps = async (branch: string, secondSigners: Name[], how: 'push' | 'check') => {
    git(clone, 'checkout', '-q', '-B', branch, 'origin/main');
    await writeRoots(3, 2, ['carol', 'dave', 'frank']);
    await sign('root.json', 'carol', 'dave');
    commit('version 3');
    await writeRoots(4, 1, ['frank', 'grace']);
    await sign('root.json', ...secondSigners);
    await sign('endorsers.json', 'grace');
    commit('version 4');
    if (how === 'push') return tryGit(clone, 'push', 'origin', `${branch}:main`);
    const problems = await validateChanges(clone, 'origin/main');
    return { status: problems.length === 0 ? 0 : 1, stderr: problems.map((p) => formatProblem(p, {})).join('\n') };
  };
  // Version 4 signed by one root of version 3 (frank) where version 3 needs two: refused, although
  // version 2's roots (carol, dave) signed version 3.
  const bad = await twoSteps('two-rotations-bad', ['frank', 'grace'], 'check');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /trust\/root.json version 4 needs the signatures of 2 of carol@site-c, dave@site-d, frank@site-f \(the old roots, version 3\); got 1: frank@site-f; not counted: SHA256:\S+ \(not a root\) \[root-threshold\]/);
  const good = await twoSteps('two-rotations', ['dave', 'frank', 'grace'], 'push');
  t.is(good.status, 0, good.stderr);
});

test.serial('a padded trust file is refused by its size before it is read', async (t) => {
  const padded = await tryChange('padded', async () => {
    const text = (await working('trust/signatures.json'))!;
    await writeFile(at('trust/signatures.json'), text.replace(/\n}\n?$/, `\n${' '.repeat(70_000)}}\n`));
  }, 'check');
  t.not(padded.status, 0);
  t.regex(padded.stderr, /trust\/signatures.json: \(file\): trust\/signatures.json is \d+ bytes \(commit [0-9a-f]+\) \[max-size\]/);
});

test.serial('a malformed root file is refused field by field, saying what was expected', async (t) => {
  const bad = await tryChange('bad-roots', async () => {
    await writeFile(at('trust/root.json'), JSON.stringify({ version: 5, threshold: 3, roots: [{ identity: 'frank@site-f', key: keys.frank.test.publicLine }, { identity: 'grace@site-g', key: keys.frank.test.publicLine }] }));
  }, 'check');
  t.not(bad.status, 0);
  t.regex(bad.stderr, /trust\/root.json: roots\[1\].key: trust\/root.json roots\[1\].key key SHA256:\S+ is already the key of frank@site-f \[unique\]/);
  t.regex(bad.stderr, /trust\/root.json: threshold: trust\/root.json threshold 3 is not an integer from 1 to the number of roots \(2\) \[range\]/);
});

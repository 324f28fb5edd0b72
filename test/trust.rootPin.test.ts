/**
 * A follower that pins an upstream's trust roots (`upstreams.<name>.trust_root`, TUF's shipped
 * root.json) takes from it only a trust/root.json that is the pinned one or descends from it by
 * valid rotations; anything else (an attacker's roots, a rotation one signature short, no roots at
 * all, an older version) is refused by rule with nothing taken. Without a pin: trust on first use.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { parsePrivateKeyFile } from '../src/trust/SshKeys.ts';
import { signTrustFile } from '../src/trust/TrustSigning.ts';
import type { SignedTrustFile } from '../src/trust/TrustSignatures.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { git, imageRecord, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey, type TestKey } from './helpers/sshKeys.ts';

interface SyncProblem {
  file: string;
  rule: string;
  expected: string;
  message: string;
}
interface SyncResult {
  upstream: string;
  mode: string;
  problems: SyncProblem[];
}

/**
 * An upstream catalogue whose trust files the test writes, signs and commits (no hooks: an attacker's
 * or a careless upstream's history), cloned from one fresh catalogue per test (a clone is cheaper).
 */
async function upstreamCatalogue(root: string, name: string) {
  const seed = join(root, 'seed');
  if (!existsSync(seed)) {
    await initCatalog(seed);
    git(seed, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  }
  const dir = join(root, name);
  git(root, 'clone', '-q', seed, dir);
  await mkdir(join(dir, 'trust'));
  const versions = {
    working: (path: string) => readFile(join(dir, path), 'utf8').catch(() => undefined),
    committed: async (path: string) => {
      const r = tryGit(dir, 'show', `HEAD:${path}`);
      return r.status === 0 ? r.stdout : undefined;
    },
  };
  const c = {
    dir,
    /** Writes root.json: `keys` as roots named root<i>@public.example. */
    roots: (version: number, threshold: number, keys: TestKey[]) =>
      writeFile(join(dir, 'trust/root.json'), JSON.stringify({ version, threshold, roots: keys.map((k, i) => ({ identity: `root${i}@public.example`, key: k.publicLine })) })),
    sign: async (file: SignedTrustFile, ...keys: TestKey[]) => {
      for (const k of keys) await writeFile(join(dir, 'trust/signatures.json'), (await signTrustFile(file, parsePrivateKeyFile(await readFile(k.file, 'utf8')), versions)).text);
    },
    endorsers: (...keys: TestKey[]) => writeFile(join(dir, 'trust/endorsers.json'), JSON.stringify({ endorsers: keys.map((k, i) => ({ identity: `endorser${i}@public.example`, keys: [k.publicLine] })) })),
    image: async () => (await writeRecordFile(dir, imageRecord({ origin: 'public.example', uploaded_at: new Date().toISOString() })), undefined),
    commit: (message: string) => {
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '--no-verify', '-m', message);
      return git(dir, 'rev-parse', 'HEAD').trim();
    },
    /** An image, and roots `keys` at version 1 (all of them needed) over an endorser list of `endorser`, all signed. */
    trusted: async (keys: TestKey[], endorser: TestKey) => {
      await c.image();
      await c.roots(1, keys.length, keys);
      await c.endorsers(endorser);
      await c.sign('root.json', ...keys);
      await c.sign('endorsers.json', ...keys);
    },
    /** Rotates to `keys` (threshold `threshold`): signed by `signers`, the endorser list re-signed by the new roots. */
    rotate: async (version: number, threshold: number, keys: TestKey[], signers: TestKey[]) => {
      await c.roots(version, threshold, keys);
      await c.sign('root.json', ...signers);
      await c.sign('endorsers.json', ...keys.slice(0, threshold));
      return c.commit(`roots version ${version}`);
    },
  };
  return c;
}

const sync = async (d: TestDaemon, upstream: string): Promise<SyncResult> => {
  const res = await fetch(`${d.url}/sync?upstream=${upstream}`, authed(d.token, { method: 'POST' }));
  const body = (await res.json()) as { results: SyncResult[] };
  return body.results[0]!;
};

const catalogueHead = (d: TestDaemon) => git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD').trim();
const hasObject = (d: TestDaemon, oid: string) => tryGit(join(d.dataDir, 'catalog'), 'cat-file', '-e', `${oid}^{commit}`).status === 0;

test('a pinned upstream is taken only while its roots descend from the pin; an attacker’s roots, a short rotation, no roots and an older version are refused', async (t) => {
  const root = await tempDir('visor-root-pin-');
  const [alice, bob, carol, dave, mallory] = ['alice', 'bob', 'carol', 'dave', 'mallory'].map((n) => makeKey(root, n)) as [TestKey, TestKey, TestKey, TestKey, TestKey];

  // The genuine upstream: roots alice and bob (2 of 2), an endorser list they signed.
  const good = await upstreamCatalogue(root, 'good');
  await good.trusted([alice, bob], alice);
  good.commit('an image, the roots and the endorser list they signed');
  const pin = join(root, 'pinned-root.json');
  await writeFile(pin, await readFile(join(good.dir, 'trust/root.json')));

  // An attacker's copy (or a man in the middle on the first sync): its own roots, its own endorser list, all self-signed.
  const attacker = await upstreamCatalogue(root, 'attacker');
  await attacker.trusted([mallory], mallory);
  const attackerHead = attacker.commit('mallory’s roots');

  // The pinned roots, then a rotation to carol and dave signed by alice alone: one of the old threshold of 2.
  const short = await upstreamCatalogue(root, 'short');
  await short.trusted([alice, bob], alice);
  short.commit('the pinned roots');
  await short.image();
  const shortHead = await short.rotate(2, 2, [carol, dave], [alice, carol, dave]);

  // A catalogue with no trust roots at all.
  const bare = await upstreamCatalogue(root, 'bare');
  await bare.image();
  const bareHead = bare.commit('an image, no roots');

  const pinned = (url: string, trustRoot = pin) => ({ url, interval_seconds: 0, trust_root: trustRoot });
  const d = await startTestDaemon({ config: { upstreams: { attacker: pinned(attacker.dir), short: pinned(short.dir), bare: pinned(bare.dir), good: pinned(good.dir) } } });
  try {
    const fresh = catalogueHead(d);
    const refusal = (r: SyncResult) => {
      t.is(r.mode, 'refused', JSON.stringify(r));
      t.is(r.problems.length, 1, JSON.stringify(r.problems));
      const p = r.problems[0]!;
      t.is(p.rule, 'trust-root-pin');
      t.is(p.file, 'trust/root.json');
      // The upstream, the pinned root's version and keys (the setting, not the file's local path).
      t.true(p.message.startsWith(`upstream ${r.upstream}'s branch main`), p.message);
      t.regex(p.message, /the root pinned by upstreams\.\w+\.trust_root, version 1, threshold 2 of /);
      t.false(p.message.includes(root), 'no local path');
      t.true(p.message.includes(`${alice.fingerprint} (root0@public.example), ${bob.fingerprint} (root1@public.example)`), p.message);
      t.is(catalogueHead(d), fresh, 'nothing of the sync is merged');
      return p.message;
    };

    const byAttacker = refusal(await sync(d, 'attacker'));
    t.true(byAttacker.includes(`offers trust/root.json version 1, threshold 1 of ${mallory.fingerprint} (root0@public.example)`), byAttacker);
    t.false(hasObject(d, attackerHead), 'not even the objects stay');

    const byShort = refusal(await sync(d, 'short'));
    t.true(byShort.includes(`offers trust/root.json version 2, threshold 2 of ${carol.fingerprint}`), byShort);
    t.regex(byShort, /needs the signatures of 2 of root0@public\.example, root1@public\.example \(the old roots, version 1\); got 1: root0@public\.example;/);
    t.false(hasObject(d, shortHead));

    const byBare = refusal(await sync(d, 'bare'));
    t.true(byBare.includes('offers no trust/root.json'), byBare);
    t.false(hasObject(d, bareHead));

    // The genuine upstream: its roots are the pinned ones.
    const first = await sync(d, 'good');
    t.is(first.mode, 'adopted', JSON.stringify(first));

    // A rotation signed by the threshold of the old roots (alice and bob) is taken, and remembered.
    await good.image();
    await good.rotate(2, 1, [bob, carol], [alice, bob, carol]);
    const rotated = await sync(d, 'good');
    t.is(rotated.mode, 'fast-forward', JSON.stringify(rotated));
    const remembered = JSON.parse(await readFile(join(d.dataDir, 'catalog', '.git', 'visor', 'upstream-roots.json'), 'utf8')) as Record<string, { root: { version: number } }>;
    t.is(remembered['good']!.root.version, 2);

    // Later syncs chain from the newest accepted root: version 1 put back (with its old signatures) is
    // refused by the pin itself, naming version 2, though the pinned version 1 is the same content.
    await good.roots(1, 2, [alice, bob]);
    await good.sign('root.json', alice, bob);
    const backHead = good.commit('roots version 1 again');
    const goneBack = await sync(d, 'good');
    t.is(goneBack.mode, 'refused', JSON.stringify(goneBack));
    t.is(goneBack.problems[0]?.rule, 'trust-root-pin');
    t.regex(goneBack.problems[0]!.message, /or the newest accepted from it since, version 2, threshold 1 of /);
    t.regex(goneBack.problems[0]!.message, /version 1 replaces version 2/);
    t.false(hasObject(d, backHead));
  } finally {
    await d.stop();
  }
});

test('a follower pinned to a root walks every rotation since, and a pin of a later version walks from there, skipping the versions before it', async (t) => {
  const root = await tempDir('visor-root-pin-walk-');
  const [alice, bob, carol] = ['alice', 'bob', 'carol'].map((n) => makeKey(root, n)) as [TestKey, TestKey, TestKey];
  const up = await upstreamCatalogue(root, 'public');
  await up.trusted([alice], alice);
  up.commit('roots version 1');
  const pinV1 = join(root, 'root-v1.json');
  await writeFile(pinV1, await readFile(join(up.dir, 'trust/root.json')));
  await up.rotate(2, 1, [bob], [alice, bob]);
  const pinV2 = join(root, 'root-v2.json');
  await writeFile(pinV2, await readFile(join(up.dir, 'trust/root.json')));
  await up.image();
  await up.rotate(3, 1, [carol], [bob, carol]);
  await up.rotate(4, 1, [alice], [carol, alice]);

  const d = await startTestDaemon({ config: { upstreams: { v1: { url: up.dir, interval_seconds: 0, trust_root: pinV1 }, v2: { url: up.dir, interval_seconds: 0, trust_root: pinV2 } } } });
  try {
    const fromV1 = await sync(d, 'v1');
    t.is(fromV1.mode, 'adopted', JSON.stringify(fromV1));
    const fromV2 = await sync(d, 'v2');
    t.is(fromV2.mode, 'up-to-date', JSON.stringify(fromV2));
  } finally {
    await d.stop();
  }
});

test('without a pin, an upstream’s roots are trusted on first use, as before', async (t) => {
  const root = await tempDir('visor-root-tofu-');
  const mallory = makeKey(root, 'mallory');
  const attacker = await upstreamCatalogue(root, 'attacker');
  await attacker.trusted([mallory], mallory);
  const head = attacker.commit('mallory’s roots');
  const d = await startTestDaemon({ config: { upstreams: { public: { url: attacker.dir, interval_seconds: 0 } } } });
  try {
    const r = await sync(d, 'public');
    t.is(r.mode, 'adopted', JSON.stringify(r));
    t.is(catalogueHead(d), head);
  } finally {
    await d.stop();
  }
});

test('trust_root must name a readable, valid root file: the start stops naming the setting and the rule', async (t) => {
  const root = await tempDir('visor-root-pin-config-');
  const load = (trustRoot: unknown) => () => loadConfig({ overrides: { data_dir: root, upstreams: { public: { url: root, trust_root: trustRoot as string } } }, env: { HOME: root } });
  const fails = (trustRoot: unknown, rule: string, message: RegExp) => {
    const error = t.throws(load(trustRoot), { instanceOf: VisorError });
    t.is(error?.problems[0]?.field, 'upstreams.public.trust_root');
    t.is(error?.problems[0]?.rule, rule);
    t.regex(error?.message ?? '', message);
  };
  fails(join(root, 'missing.json'), 'readable', /^upstreams\.public\.trust_root: cannot read .*missing\.json: ENOENT/);
  await writeFile(join(root, 'not-json.json'), 'roots: alice');
  fails(join(root, 'not-json.json'), 'root-file', /not-json\.json is not a valid trust root file: is not JSON/);
  await writeFile(join(root, 'no-threshold.json'), JSON.stringify({ version: 1, threshold: 3, roots: [{ identity: 'a@b', key: makeKey(root, 'k').publicLine }] }));
  fails(join(root, 'no-threshold.json'), 'root-file', /threshold 3 is not an integer from 1 to the number of roots \(1\)/);
  fails(42, 'type', /trust_root/);

  // A relative path is resolved from the working directory, as other paths in the configuration are.
  const good = join(root, 'good.json');
  await writeFile(good, JSON.stringify({ version: 4, threshold: 1, roots: [{ identity: 'a@b', key: makeKey(root, 'g').publicLine }] }));
  const config = loadConfig({ overrides: { data_dir: root, upstreams: { public: { url: root, trust_root: relative(process.cwd(), good) } } }, env: { HOME: root } });
  t.is(config.upstreams[0]!.trustRoot?.root.version, 4);
  t.is(config.upstreams[0]!.trustRoot?.file, good);
});

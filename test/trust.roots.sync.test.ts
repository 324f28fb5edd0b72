/**
 * A follower holds its upstream to the upstream's own trust roots: an endorser list changed without
 * the threshold of the roots' signatures never reaches the follower.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { parsePrivateKeyFile } from '../src/trust/SshKeys.ts';
import { signTrustFile } from '../src/trust/TrustSigning.ts';
import type { SignedTrustFile } from '../src/trust/TrustSignatures.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { git, imageRecord, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey } from './helpers/sshKeys.ts';

test('a follower refuses a sync whose endorser list lacks the threshold of the upstream’s roots', async (t) => {
  const root = await tempDir('visor-trust-roots-sync-');
  const upstream = join(root, 'public');
  await initCatalog(upstream);
  git(upstream, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  const [alice, bob, carol, mallory] = ['alice', 'bob', 'carol', 'mallory'].map((n) => makeKey(root, n)) as [ReturnType<typeof makeKey>, ReturnType<typeof makeKey>, ReturnType<typeof makeKey>, ReturnType<typeof makeKey>];
  const privateKey = async (k: { file: string }) => parsePrivateKeyFile(await readFile(k.file, 'utf8'));
  const versions = {
    working: (path: string) => readFile(join(upstream, path), 'utf8').catch(() => undefined),
    committed: async (path: string) => {
      const r = tryGit(upstream, 'show', `HEAD:${path}`);
      return r.status === 0 ? r.stdout : undefined;
    },
  };
  const sign = async (file: SignedTrustFile, ...keys: Array<{ file: string }>) => {
    for (const k of keys) await writeFile(join(upstream, 'trust/signatures.json'), (await signTrustFile(file, await privateKey(k), versions)).text);
  };
  const endorsers = (...list: Array<[string, string]>) => writeFile(join(upstream, 'trust/endorsers.json'), JSON.stringify({ endorsers: list.map(([identity, key]) => ({ identity, keys: [key] })) }));

  await writeRecordFile(upstream, imageRecord({ origin: 'public.example', uploaded_at: new Date().toISOString() }));
  await mkdir(join(upstream, 'trust'));
  await writeFile(join(upstream, 'trust/root.json'), JSON.stringify({ version: 1, threshold: 2, roots: [{ identity: 'alice@public.example', key: alice.publicLine }, { identity: 'bob@public.example', key: bob.publicLine }] }));
  await endorsers(['alice@public.example', alice.publicLine]);
  await sign('root.json', alice, bob);
  await sign('endorsers.json', alice, bob);
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '-m', 'an image, the roots and the endorser list they signed');

  const d = await startTestDaemon({ config: { upstreams: { public: { url: upstream, interval_seconds: 0 } } } });
  try {
    const sync = async () => ((await (await fetch(`${d.url}/sync`, authed(d.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string; problems: Array<{ file: string; rule: string; message: string }> }> }).results[0]!;
    const first = await sync();
    t.is(first.mode, 'adopted', JSON.stringify(first));

    // Mallory becomes an endorser on the word of one root of two.
    await endorsers(['alice@public.example', alice.publicLine], ['mallory@public.example', mallory.publicLine]);
    await sign('endorsers.json', alice);
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'mallory endorses');
    const refused = await sync();
    t.is(refused.mode, 'refused');
    const problem = refused.problems.find((p) => p.rule === 'endorsers-threshold');
    t.truthy(problem, JSON.stringify(refused.problems));
    t.is(problem!.file, 'trust/endorsers.json');
    t.regex(problem!.message, /needs the signatures of 2 of alice@public.example, bob@public.example .*got 1: alice@public.example/);

    // Bob co-signs, and the roots rotate twice before the follower looks again: it walks both steps.
    await sign('endorsers.json', bob);
    git(upstream, 'commit', '-q', '-am', 'bob co-signs');
    const rotate = async (version: number, roots: Array<{ file: string; publicLine: string }>, ...signers: Array<{ file: string }>) => {
      await writeFile(join(upstream, 'trust/root.json'), JSON.stringify({ version, threshold: 1, roots: roots.map((k, i) => ({ identity: `root${i}@public.example`, key: k.publicLine })) }));
      await sign('root.json', ...signers);
      await sign('endorsers.json', signers.at(-1)!);
      git(upstream, 'commit', '-q', '-am', `roots version ${version}`);
    };
    await rotate(2, [bob], alice, bob);
    await rotate(3, [carol], bob, carol);
    const caughtUp = await sync();
    t.is(caughtUp.mode, 'fast-forward', JSON.stringify(caughtUp));
  } finally {
    await d.stop();
  }
});

/**
 * A follower that takes only endorsed images from an upstream (upstreams.<name>.only_endorsed, zot's
 * onlySigned): what the upstream's catalogue does not endorse as the site's trust policy requires is
 * not taken, and is reported; the rest of the sync arrives; an image endorsed later is taken then.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { endorse, revoke, serializeStatementFile } from '../src/trust/Endorsing.ts';
import type { SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import { parsePrivateKeyFile } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { git, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey } from './helpers/sshKeys.ts';

interface SyncResult {
  mode: string;
  conflicts: Array<{ path: string; resolution: string }>;
  problems?: unknown[];
}

test('only_endorsed: an unendorsed image, a revoked one and one built on it are not taken (each reported, naming the rule); the endorsed one is; an image endorsed later arrives then', async (t) => {
  const root = await tempDir('visor-only-endorsed-');
  const upstream = join(root, 'public');
  await initCatalog(upstream);
  git(upstream, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  const aliceKey = makeKey(root, 'alice');
  const alice = parsePrivateKeyFile(await readFile(aliceKey.file, 'utf8'));
  const put = async (file: SignedStatementFile) => {
    await mkdir(dirname(join(upstream, statementPath(file))), { recursive: true });
    await writeFile(join(upstream, statementPath(file)), serializeStatementFile(file));
  };
  const now = new Date().toISOString();
  const earlier = new Date(Date.now() - 120_000);
  const endorsed = imageRecord({ origin: 'public.example', uploaded_at: now });
  const bare = imageRecord({ origin: 'public.example', uploaded_at: now });
  const revoked = imageRecord({ origin: 'public.example', uploaded_at: now });
  const child = imageRecord({ origin: 'public.example', uploaded_at: now, built_from: revoked.id });
  for (const r of [endorsed, bare, revoked, child]) await writeRecordFile(upstream, r);
  await mkdir(join(upstream, 'trust'));
  await writeFile(join(upstream, 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@public.example', keys: [aliceKey.publicLine] }] }));
  for (const r of [endorsed, revoked, child]) await put(endorse(r as unknown as ImageRecord, alice, 'alice@public.example', { now: earlier }));
  await put(revoke(revoked.id, alice, 'alice@public.example', 'leaks credentials', new Date(Date.now() - 60_000)));
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '-m', 'four images, three endorsed, one of them revoked');

  const d = await startTestDaemon({ config: { upstreams: { public: { url: upstream, interval_seconds: 0, only_endorsed: true } } } });
  try {
    const sync = async () => ((await (await fetch(`${d.url}/sync`, authed(d.token, { method: 'POST' }))).json()) as { results: SyncResult[] }).results[0]!;
    const shown = async (id: string) => (await fetch(`${d.url}/images/${id}`, authed(d.token))).status;
    const first = await sync();
    t.not(first.mode, 'refused', JSON.stringify(first));
    t.is(await shown(endorsed.id), 200);
    for (const r of [bare, revoked, child]) t.is(await shown(r.id), 404, r.id);
    const reported = (id: string) => first.conflicts.find((c) => c.path === `images/${id.slice(0, 2)}/${id}.json`)?.resolution ?? '';
    t.regex(reported(bare.id), new RegExp(`not taken: upstream public is followed only_endorsed, and image ${bare.id} is not endorsed as this site requires: image ${bare.id}: rule threshold: 0 of 1`));
    t.regex(reported(revoked.id), /rule revoked: alice@public\.example revoked their endorsement: leaks credentials/);
    t.regex(reported(child.id), new RegExp(`rule base_revoked: built on image ${revoked.id}`));

    // alice endorses the bare image upstream: the next sync takes it, though the record itself did not change.
    await put(endorse(bare as unknown as ImageRecord, alice, 'alice@public.example', { now: new Date(Date.now() - 30_000) }));
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'endorse the bare image');
    const second = await sync();
    t.not(second.mode, 'refused', JSON.stringify(second));
    t.is(await shown(bare.id), 200);
    const states = ((await (await fetch(`${d.url}/images/${bare.id}/endorsements`)).json()) as { endorsements: Array<{ state: string }> }).endorsements.map((e) => e.state);
    t.deepEqual(states, ['valid']);
    for (const r of [revoked, child]) t.is(await shown(r.id), 404);
  } finally {
    await d.stop();
  }
});

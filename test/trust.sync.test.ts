/**
 * Endorsements travel with the catalogue: a follower takes an upstream's endorser list and
 * endorsements by sync and serves their states, and refuses a sync that carries a forged one.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { endorse, serializeStatementFile } from '../src/trust/Endorsing.ts';
import { statementBytes, type SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import type { EndorsementView } from '../src/trust/EndorsementState.ts';
import { parsePrivateKeyFile } from '../src/trust/SshKeys.ts';
import { signSsh } from '../src/trust/SshSignature.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { git, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey } from './helpers/sshKeys.ts';

test("a follower serves the states of its upstream's endorsements, and refuses a sync that brings a forged one", async (t) => {
  const root = await tempDir('visor-trust-sync-');
  const upstream = join(root, 'public');
  await initCatalog(upstream);
  git(upstream, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  const aliceKey = makeKey(root, 'alice');
  const mallory = parsePrivateKeyFile(await readFile(makeKey(root, 'mallory').file, 'utf8'));
  const alice = parsePrivateKeyFile(await readFile(aliceKey.file, 'utf8'));
  const now = new Date().toISOString();
  const record = imageRecord({ origin: 'public.example', uploaded_at: now });
  const put = async (file: SignedStatementFile) => {
    await mkdir(dirname(join(upstream, statementPath(file))), { recursive: true });
    await writeFile(join(upstream, statementPath(file)), serializeStatementFile(file));
  };
  await writeRecordFile(upstream, record);
  await mkdir(join(upstream, 'trust'));
  await writeFile(join(upstream, 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@public.example', keys: [aliceKey.publicLine] }] }));
  const first = endorse(record as unknown as ImageRecord, alice, 'alice@public.example', { claims: ['tested'] });
  await put(first);
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '-m', 'an image and its endorsement');

  const d = await startTestDaemon({ config: { upstreams: { public: { url: upstream, interval_seconds: 0 } } } });
  try {
    const sync = async () => ((await (await fetch(`${d.url}/sync`, authed(d.token, { method: 'POST' }))).json()) as { results: Array<{ mode: string; problems: Array<{ file: string; rule: string }> }> }).results[0]!;
    t.is((await sync()).mode, 'adopted');
    const states = async () => ((await (await fetch(`${d.url}/images/${record.id}/endorsements`)).json()) as { endorsements: EndorsementView[] }).endorsements.map((e) => `${e.identity} ${e.state}`);
    t.deepEqual(await states(), ['alice@public.example valid']);

    // Mallory's signature over a statement in alice's name.
    const claimed = endorse(record as unknown as ImageRecord, alice, 'alice@public.example', { claims: ['approved'], now: new Date(Date.parse(first.statement.issued_at) - 600_000) }).statement;
    await put({ statement: claimed, signature: signSsh(mallory, statementBytes(claimed)) });
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'forged');
    const refused = await sync();
    t.is(refused.mode, 'refused');
    t.true(refused.problems.some((p) => p.rule === 'signature' && p.file.includes(`/${record.id}/endorsement-`)), JSON.stringify(refused.problems));
    t.deepEqual(await states(), ['alice@public.example valid'], 'nothing of the refused sync is served');
  } finally {
    await d.stop();
  }
});

/**
 * GET /images/:id/endorsements: an image's endorsements and the state of each, to whoever may see
 * the image and to nobody else (a private image's stay as hidden as the image), and `visor show`.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { endorse, revoke, serializeStatementFile } from '../src/trust/Endorsing.ts';
import type { SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import type { EndorsementView } from '../src/trust/EndorsementState.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { recordPath } from '../src/catalog/CatalogLayout.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { addUser } from './helpers/accounts.ts';
import { tempDir } from './helpers/gitRepos.ts';
import { makeKey, type TestKey } from './helpers/sshKeys.ts';
import { visorAt } from './helpers/cli.ts';

let d: TestDaemon;
let owner: string;
let stranger: string;
const ids = {} as Record<'public' | 'private', string>;
let alice: { test: TestKey; key: SshPrivateKey };

/** Puts a statement where a merged change would (the working tree the daemon reads). */
async function place(catalog: 'catalog' | 'private-catalog', file: SignedStatementFile): Promise<void> {
  const path = join(d.dataDir, catalog, statementPath(file));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, serializeStatementFile(file));
}

test.before(async () => {
  d = await startTestDaemon();
  owner = await addUser(d, unique('owner'));
  stranger = await addUser(d, unique('stranger'));
  const dir = await tempDir('visor-trust-api-');
  const t = makeKey(dir, 'alice');
  alice = { test: t, key: parsePrivateKeyFile(await readFile(t.file, 'utf8')) };
  await mkdir(join(d.dataDir, 'catalog', 'trust'), { recursive: true });
  await writeFile(join(d.dataDir, 'catalog', 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [t.publicLine] }] }));
  for (const access of ['public', 'private'] as const) {
    const id = await createImage(d, owner, { name: unique(access), access });
    await uploadFile(d, owner, id, Buffer.alloc(4096, 7));
    ids[access] = id;
    const catalog = access === 'public' ? 'catalog' : 'private-catalog';
    const record = JSON.parse(await readFile(join(d.dataDir, catalog, recordPath(id)), 'utf8')) as ImageRecord;
    await place(catalog, endorse(record, alice.key, 'alice@site-a', { claims: ['tested'], now: new Date(Date.now() - 60_000) }));
  }
  await place('catalog', revoke(ids.public, alice.key, 'alice@site-a', 'kernel panic on boot'));
  await place('catalog', endorse(JSON.parse(await readFile(join(d.dataDir, 'catalog', recordPath(ids.public)), 'utf8')) as ImageRecord, alice.key, 'alice@site-a', { claims: ['approved'], now: new Date(Date.now() + 60_000) }));
});

test.after.always(async () => {
  await d?.stop();
});

const endorsementsAs = async (key: string | undefined, id: string) => call(d, key, 'GET', `/images/${id}/endorsements`);

test('a public image: its endorsements and their states, for its owner, a stranger and anonymous alike', async (t) => {
  for (const key of [owner, stranger, undefined]) {
    const res = await endorsementsAs(key, ids.public);
    t.is(res.status, 200);
    const { endorsements } = res.json as { endorsements: EndorsementView[] };
    t.deepEqual(endorsements.map((e) => [e.state, e.identity, e.claims]), [
      ['revoked', 'alice@site-a', ['tested']],
      ['valid', 'alice@site-a', ['approved']],
    ]);
    t.regex(endorsements[0]!.reason!, new RegExp(`image ${ids.public} by alice@site-a was revoked at .*: kernel panic on boot`));
  }
});

test("a private image: its owner sees its endorsement, valid; a stranger and anonymous get the same 404 as for an image that never was", async (t) => {
  const mine = await endorsementsAs(owner, ids.private);
  t.is(mine.status, 200);
  t.deepEqual((mine.json as { endorsements: EndorsementView[] }).endorsements.map((e) => e.state), ['valid']);
  for (const key of [stranger, undefined]) {
    const hidden = await endorsementsAs(key, ids.private);
    const ghost = await endorsementsAs(key, '00000000-0000-4000-8000-000000000000');
    t.is(hidden.status, 404);
    t.is(hidden.text.replaceAll(ids.private, 'ID'), ghost.text.replaceAll('00000000-0000-4000-8000-000000000000', 'ID'));
  }
});

test('visor show lists the endorsements with their states', async (t) => {
  const shown = await visorAt(d).run(['show', ids.public], { env: { VISOR_TOKEN: stranger } });
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, /endorsements\n {2}revoked +alice@site-a claims tested .*kernel panic on boot\n {2}valid +alice@site-a claims approved/);
  const verified = await visorAt(d).run(['verify', ids.public], { env: { VISOR_TOKEN: stranger } });
  t.is(verified.code, 0, verified.stderr);
});

/**
 * A catalogue's hooks and CI judge signed statements like records: a statement whose signature is
 * bad, whose key the catalogue does not list, whose facts are not the image's, or one changed or
 * deleted after the fact, never lands; not even in a commit a later one undoes.
 */
import test from 'ava';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { endorse, revoke, serializeStatementFile } from '../src/trust/Endorsing.ts';
import { statementBytes, type SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import { signSsh } from '../src/trust/SshSignature.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { git, imageRecord, serverAndClone, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey, type TestKey } from './helpers/sshKeys.ts';
import { runVisor } from './helpers/cli.ts';

const keys = {} as Record<'alice' | 'bob' | 'mallory', { test: TestKey; key: SshPrivateKey }>;
let clone: string;
const now = new Date().toISOString();
const record = imageRecord({ origin: 'site-a', uploaded_at: now, inspection: { format: 'raw', virtual_size: 512, inspected_at: now, inspector: 'test' } });
const id = record.id;
const asRecord = record as unknown as ImageRecord;
let good: SignedStatementFile;
let bobs: SignedStatementFile;
let bobsRevocation: SignedStatementFile;

async function put(file: SignedStatementFile, text = serializeStatementFile(file), path = statementPath(file)): Promise<string> {
  await mkdir(dirname(join(clone, path)), { recursive: true });
  await writeFile(join(clone, path), text);
  return path;
}

function commit(message: string): void {
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', message);
}

test.before(async () => {
  const dir = await tempDir('visor-trust-hooks-');
  for (const name of ['alice', 'bob', 'mallory'] as const) {
    const t = makeKey(dir, name);
    keys[name] = { test: t, key: parsePrivateKeyFile(await readFile(t.file, 'utf8')) };
  }
  ({ clone } = await serverAndClone({ publicCatalogue: true }));
  await writeRecordFile(clone, record);
  await mkdir(join(clone, 'trust'));
  await writeFile(join(clone, 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [keys.alice.test.publicLine] }, { identity: 'bob@site-b', keys: [keys.bob.test.publicLine] }] }, null, 2));
  good = endorse(asRecord, keys.alice.key, 'alice@site-a', { claims: ['tested'] });
  bobs = endorse(asRecord, keys.bob.key, 'bob@site-b', { now: new Date(Date.now() - 60_000) });
  bobsRevocation = revoke(id, keys.bob.key, 'bob@site-b', 'superseded');
  for (const f of [good, bobs, bobsRevocation]) await put(f);
  commit('an image, its endorsers, two endorsements and a revocation');
});

test.serial('the server takes an image with its endorser list, endorsements and a revocation', (t) => {
  const push = tryGit(clone, 'push', '-q', 'origin', 'HEAD:main');
  t.is(push.status, 0, push.stderr);
});

test.serial('the server refuses a bad signature, an unlisted key, facts that are not the image, and statements changed or deleted, naming each', async (t) => {
  git(clone, 'checkout', '-q', '-B', 'bad', 'origin/main');
  // Times apart from every statement already there (a slow start must not make two share a name).
  const before = (seconds: number) => new Date(Date.parse(good.statement.issued_at) - seconds * 1000);
  const tampered = endorse(asRecord, keys.alice.key, 'alice@site-a', { now: before(300), claims: ['tested'] });
  const tamperedPath = await put({ ...tampered, statement: { ...tampered.statement, claims: ['tested', 'approved'] } });
  const unlisted = await put(endorse(asRecord, keys.mallory.key, 'mallory@site-x'));
  const wrongFacts = await put(endorse({ ...asRecord, size: 11 }, keys.alice.key, 'alice@site-a', { now: before(400) }));
  // Alice's endorsement re-signed by alice with another claim, at its old name: a change.
  const changed = await put(endorse(asRecord, keys.alice.key, 'alice@site-a', { claims: ['approved'], now: new Date(good.statement.issued_at) }), undefined, statementPath(good));
  await rm(join(clone, statementPath(bobsRevocation)));
  commit('bad statements');
  const push = tryGit(clone, 'push', 'origin', 'bad');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${tamperedPath}: signature: .*does not match the signed bytes.*\\[signature\\]`));
  t.regex(push.stderr, new RegExp(`${unlisted}: statement.endorser: key SHA256:\\S+ of mallory@site-x is not in trust/endorsers.json.*\\[endorser-listed\\]`));
  t.regex(push.stderr, new RegExp(`${wrongFacts}: statement.image: endorsement of image ${id} by alice@site-a does not match the image: size \\(endorsed 11, now 10\\).*\\[facts-match\\]`));
  t.regex(push.stderr, new RegExp(`${changed}: .*a signed statement never changes.*\\[append-only\\]`));
  t.regex(push.stderr, new RegExp(`${statementPath(bobsRevocation)}: .*cannot be deleted while the image is in the catalogue \\(it would revive what it revoked\\).*\\[append-only\\]`));
  t.is(tryGit(clone, 'ls-remote', '--heads', 'origin', 'bad').stdout, '', 'the branch did not land');
  // CI's whole-tree check finds the bad signature and the unlisted key too.
  const ci = await runVisor(['catalog', 'validate', clone]);
  t.is(ci.code, 1);
  t.regex(ci.stdout + ci.stderr, /\[signature\]/);
  t.regex(ci.stdout + ci.stderr, /\[endorser-listed\]/);
});

test.serial('a forged statement added and removed again within one push is refused: history keeps it', async (t) => {
  git(clone, 'checkout', '-q', '-B', 'undone', 'origin/main');
  // Mallory signs a statement that names alice's key: a good signature, by the wrong key.
  const claimed = endorse(asRecord, keys.alice.key, 'alice@site-a', { now: new Date(Date.parse(good.statement.issued_at) - 500_000) }).statement;
  const path = await put({ statement: claimed, signature: signSsh(keys.mallory.key, statementBytes(claimed)) });
  commit('forged');
  await rm(join(clone, path));
  commit('and gone');
  const push = tryGit(clone, 'push', 'origin', 'undone');
  t.not(push.status, 0);
  t.regex(push.stderr, new RegExp(`${path}: signature: signed by key ${keys.mallory.test.fingerprint.replace(/[+/]/g, '\\$&')}, not the ${keys.alice.test.fingerprint.replace(/[+/]/g, '\\$&')} the statement names \\(commit [0-9a-f]+\\).*\\[signature\\]`));
});

/**
 * An endorsement's state is computed from the statement files, the catalogue's endorser list and the
 * image's record: valid, expired, revoked, key unknown, signature bad, facts mismatch. And `visor
 * endorse` / `visor verify` as a publisher uses them on a catalogue clone.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { EndorserList } from '../src/trust/EndorserList.ts';
import { assessEndorsements, type EndorsementView, type StatementText } from '../src/trust/EndorsementState.ts';
import { endorse, revoke, serializeStatementFile } from '../src/trust/Endorsing.ts';
import { statementBytes, type EndorsementStatement, type SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { evaluatePolicy, parseTrustPolicy } from '../src/trust/TrustPolicy.ts';
import { canonicalJson } from '../src/trust/CanonicalJson.ts';
import { imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey, sshKeygenSign, sshKeygenVerify, type TestKey } from './helpers/sshKeys.ts';
import { runVisor } from './helpers/cli.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';

let dir: string;
const keys = {} as Record<'alice' | 'bob' | 'mallory', { test: TestKey; key: SshPrivateKey }>;
let endorsers: EndorserList;
let endorsersText: string;
const record = imageRecord({ origin: 'site-a', uploaded_at: new Date().toISOString(), inspection: { format: 'qcow2', virtual_size: 1 << 20, inspected_at: new Date().toISOString(), inspector: 'test' } }) as unknown as ImageRecord;
const id = record.id;

test.before(async () => {
  dir = await tempDir('visor-endorse-');
  for (const name of ['alice', 'bob', 'mallory'] as const) {
    const t = makeKey(dir, name);
    keys[name] = { test: t, key: parsePrivateKeyFile(await readFile(t.file, 'utf8')) };
  }
  endorsersText = JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [keys.alice.test.publicLine] }, { identity: 'bob@site-b', keys: [keys.bob.test.publicLine] }] }, null, 2);
  endorsers = EndorserList.parse(endorsersText);
});

const asFile = (f: SignedStatementFile): StatementText => ({ path: statementPath(f), text: serializeStatementFile(f) });
const assess = (files: SignedStatementFile[], r: ImageRecord | undefined = record, now = new Date()) => assessEndorsements(id, files.map(asFile), r, endorsers, now);
const only = (views: EndorsementView[]) => {
  if (views.length !== 1) throw new Error(`expected one endorsement, got ${views.length}`);
  return views[0]!;
};

test('a fresh endorsement by a listed key of the image as it is: valid, with what it vouches for', (t) => {
  const v = only(assess([endorse(record, keys.alice.key, 'alice@site-a', { claims: ['tested', 'boots on KVM 9'] })]));
  t.is(v.state, 'valid');
  t.is(v.identity, 'alice@site-a');
  t.is(v.key, keys.alice.test.fingerprint);
  t.deepEqual(v.claims, ['tested', 'boots on KVM 9']);
});

test('an endorsement made with ssh-keygen -Y sign over the canonical bytes is valid, and ours passes ssh-keygen -Y verify', (t) => {
  const ours = endorse(record, keys.alice.key, 'alice@site-a', { claims: ['tested'] });
  const theirs = { statement: ours.statement, signature: sshKeygenSign(keys.alice.test, statementBytes(ours.statement), dir) };
  t.is(only(assess([theirs])).state, 'valid');
  t.is(sshKeygenVerify(keys.alice.test, 'alice@site-a', statementBytes(ours.statement), ours.signature, dir).status, 0);
  // The canonical form: sorted keys, no whitespace; a re-indented file signs the same bytes.
  t.true(canonicalJson(ours.statement).startsWith('{"claims":["tested"],"endorser":{"identity":"alice@site-a","key":"SHA256:'));
  const reindented = { path: statementPath(ours), text: JSON.stringify(JSON.parse(serializeStatementFile(ours))) };
  t.is(only(assessEndorsements(id, [reindented], record, endorsers)).state, 'valid');
});

test('a tampered statement, signature or namespace: signature_bad, naming the image and endorser', (t) => {
  const good = endorse(record, keys.alice.key, 'alice@site-a', { claims: ['tested'] });
  const claimed = { ...good, statement: { ...good.statement, claims: ['tested', 'approved'] } };
  const v = only(assess([claimed]));
  t.is(v.state, 'signature_bad');
  t.regex(v.reason!, new RegExp(`image ${id} by alice@site-a \\(key SHA256:.*\\): the signature is bad: .*does not match`));
  const lines = good.signature.split('\n');
  lines[3] = `${lines[3]!.slice(0, 5)}${lines[3]![5] === 'A' ? 'B' : 'A'}${lines[3]!.slice(6)}`;
  t.is(only(assess([{ ...good, signature: lines.join('\n') }])).state, 'signature_bad');
  const gitNamespace = { ...good, signature: sshKeygenSign(keys.alice.test, statementBytes(good.statement), dir, 'git') };
  t.regex(only(assess([gitNamespace])).reason!, /namespace "git"/);
  // A statement naming alice's key, signed by mallory's.
  const forged = { ...good, signature: sshKeygenSign(keys.mallory.test, statementBytes(good.statement), dir) };
  t.regex(only(assess([forged])).reason!, /signed by key .* not the/);
  // Not even JSON.
  t.is(only(assessEndorsements(id, [{ path: statementPath(good), text: '{' }], record, endorsers)).state, 'signature_bad');
});

test('a key the catalogue does not list, or lists for someone else: key_unknown', (t) => {
  t.is(only(assess([endorse(record, keys.mallory.key, 'mallory@site-x')])).state, 'key_unknown');
  const impostor = only(assess([endorse(record, keys.bob.key, 'alice@site-a')]));
  t.is(impostor.state, 'key_unknown');
  t.regex(impostor.reason!, /listed for bob@site-b, not alice@site-a/);
});

test("past its expiry: expired; and it says so ahead of time", (t) => {
  const issued = new Date(Date.now() - 10 * 86_400_000);
  const lapsed = endorse(record, keys.alice.key, 'alice@site-a', { now: issued, expiresAt: new Date(Date.now() - 86_400_000) });
  t.regex(only(assess([lapsed])).reason!, /expired at/);
  t.is(only(assess([lapsed])).state, 'expired');
  const soon = only(assess([endorse(record, keys.alice.key, 'alice@site-a', { expiresAt: new Date(Date.now() + 5 * 86_400_000) })]));
  t.is(soon.state, 'valid');
  t.true(soon.expires_soon);
});

test('a signed revocation by the same identity revokes what it issued before; a revocation by another does not', (t) => {
  const before = endorse(record, keys.alice.key, 'alice@site-a', { now: new Date(Date.now() - 60_000) });
  const byBob = endorse(record, keys.bob.key, 'bob@site-b', { now: new Date(Date.now() - 60_000) });
  const withdrawn = revoke(id, keys.alice.key, 'alice@site-a', 'boots into a kernel panic');
  const forgedRevocation = revoke(id, keys.mallory.key, 'bob@site-b', 'sabotage');
  const views = assess([before, byBob, withdrawn, forgedRevocation]);
  const alice = views.find((v) => v.identity === 'alice@site-a')!;
  t.is(alice.state, 'revoked');
  t.regex(alice.reason!, /revoked at .*: boots into a kernel panic/);
  t.is(views.find((v) => v.identity === 'bob@site-b')!.state, 'valid');
  // A later endorsement by alice stands again.
  const again = endorse(record, keys.alice.key, 'alice@site-a', { now: new Date(Date.now() + 60_000) });
  t.is(assess([before, withdrawn, again]).filter((v) => v.state === 'valid').length, 1);
});

test("the image's facts changed since (checksum, size, format): facts_mismatch, naming the fact", (t) => {
  const e = endorse(record, keys.alice.key, 'alice@site-a');
  const changed = { ...record, checksum: `sha256:${'b'.repeat(64)}` };
  const v = only(assess([e], changed));
  t.is(v.state, 'facts_mismatch');
  t.regex(v.reason!, /checksum \(endorsed sha256:aaaaaaaaaaaa…, now sha256:bbbb/);
  t.regex(only(assess([e], { ...record, inspection: { ...record.inspection!, format: 'raw' } })).reason!, /format \(endorsed qcow2, now raw\)/);
  t.regex(only(assessEndorsements(id, [asFile(e)], undefined, endorsers)).reason!, /the image is not in the catalogue/);
});

test('a policy names the rule that failed: threshold, required endorser, required claims', (t) => {
  const views = assess([endorse(record, keys.alice.key, 'alice@site-a', { claims: ['tested'] }), endorse(record, keys.mallory.key, 'mallory@site-x', { claims: ['tested', 'approved'] })]);
  t.true(evaluatePolicy(id, views, parseTrustPolicy('{}')).met);
  const two = evaluatePolicy(id, views, parseTrustPolicy('{"threshold": 2}'));
  t.false(two.met);
  t.deepEqual(two.failures.map((f) => f.rule), ['threshold']);
  t.regex(two.failures[0]!.message, new RegExp(`image ${id}: rule threshold: 1 of 2 .*\\(alice@site-a\\).*mallory@site-x: key_unknown`));
  const bob = evaluatePolicy(id, views, parseTrustPolicy('{"required_endorsers": ["bob@site-b"]}'));
  t.regex(bob.failures.map((f) => f.message).join('\n'), /rule required_endorsers: bob@site-b has no valid endorsement/);
  const approved = evaluatePolicy(id, views, parseTrustPolicy('{"required_claims": ["approved"]}'));
  t.false(approved.met);
  t.regex(approved.failures.map((f) => f.message).join('\n'), /rule required_claims: alice@site-a \(claims tested\) does not claim approved/);
  t.true(evaluatePolicy(id, views, parseTrustPolicy(`{"endorsers": ["${keys.alice.test.fingerprint}"], "required_claims": ["tested"]}`)).met);
  t.throws(() => parseTrustPolicy('{"treshold": 2}'), { message: /treshold is not a policy field/ });
});

test('visor endorse writes a signed file into a catalogue clone; visor verify --catalog passes it, and fails naming the rule', async (t) => {
  const clone = join(dir, 'clone');
  await initCatalog(clone, 'public');
  await writeRecordFile(clone, record as unknown as Record<string, unknown>);
  await mkdir(join(clone, 'trust'), { recursive: true });
  await writeFile(join(clone, 'trust/endorsers.json'), endorsersText);
  const made = await runVisor(['--json', 'endorse', id, '--key', keys.alice.test.file, '--to', clone, '--claim', 'tested', '--expires', '90d']);
  t.is(made.code, 0, made.stderr);
  const { file } = JSON.parse(made.stdout) as { file: string; statement: EndorsementStatement };
  const written = JSON.parse(await readFile(join(clone, file), 'utf8')) as SignedStatementFile;
  t.is(written.statement.endorser.identity, 'alice@site-a');
  t.deepEqual((written.statement as EndorsementStatement).image, { id, checksum: { algorithm: 'sha256', value: 'a'.repeat(64) }, size: 10, virtual_size: 1 << 20, format: 'qcow2' });
  const ok = await runVisor(['verify', id, '--catalog', clone]);
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /valid +alice@site-a claims tested/);
  await writeFile(join(dir, 'policy.json'), JSON.stringify({ threshold: 2, required_claims: ['tested'] }));
  const short = await runVisor(['verify', id, '--catalog', clone, '--policy', join(dir, 'policy.json')]);
  t.is(short.code, 1);
  t.regex(short.stderr, /rule threshold: 1 of 2 required endorsers have a valid endorsement claiming tested/);
  const revoked = await runVisor(['endorse', id, '--key', keys.alice.test.file, '--to', clone, '--revoke', '--reason', 'wrong kernel']);
  t.is(revoked.code, 0, revoked.stderr);
  const after = await runVisor(['verify', id, '--catalog', clone]);
  t.is(after.code, 1);
  t.regex(after.stdout, /revoked .*wrong kernel/);
  // A key the list does not know needs --as, and says so.
  const unknown = await runVisor(['endorse', id, '--key', keys.mallory.test.file, '--to', clone]);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /is not in .*trust\/endorsers\.json/);
});

test('only an available image with a checksum is endorsed, and only one whose id is an id (it becomes a path)', (t) => {
  t.throws(() => endorse({ ...record, id: '../../../tmp/x' }, keys.alice.key, 'alice@site-a'), { message: /not an image id/ });
  t.throws(() => endorse({ ...record, status: 'locked' }, keys.alice.key, 'alice@site-a'), { message: /only an available image/ });
  t.throws(() => endorse(record, keys.alice.key, 'alice'), { message: /not name@instance/ });
  t.throws(() => revoke('../x', keys.alice.key, 'alice@site-a', 'why'), { message: /not an image id/ });
});

test('the canonical bytes are what jq -cjS prints for the statement, so ssh-keygen can check a file without VISOR', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const file = endorse(record, keys.alice.key, 'alice@site-a', { claims: ['tested', 'démarre sous KVM 9 "q35" \\ 日本'] });
  const jq = execFileSync('jq', ['-cjS', '.statement'], { input: serializeStatementFile(file) });
  t.true(jq.equals(statementBytes(file.statement)), jq.toString());
  t.is(sshKeygenVerify(keys.alice.test, 'alice@site-a', jq, file.signature, dir).status, 0);
  // Control characters are refused, so no escape can differ between writers.
  const bell = { ...file, statement: { ...file.statement, claims: ['tested\u0007'] } };
  t.regex(only(assess([bell])).reason!, /claims\[0\].*no control characters/);
});

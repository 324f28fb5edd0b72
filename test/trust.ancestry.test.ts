/**
 * Deprecation and ancestry (issue 15): an image records what it was built from (`built_from`, which
 * must name an image in the catalogue); its owner deprecates it (`visor deprecate`, a change of the
 * record kept by history); a revocation standing against a base, or a base's deprecation, flags every
 * image built on it, generation after generation, in GET /images/:id/endorsements and `visor verify`.
 */
import test from 'ava';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { endorse, revoke, serializeStatementFile } from '../src/trust/Endorsing.ts';
import type { SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import type { ImageTrust } from '../src/trust/ImageTrust.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { recordPath } from '../src/catalog/CatalogLayout.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, storedFile, unique, uploadFile } from './helpers/images.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { git, imageRecord, recordFile, serverAndClone, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { makeKey } from './helpers/sshKeys.ts';
import { visorAt } from './helpers/cli.ts';

let d: TestDaemon;
let owner: string;
let ownerName: string;
let grantee: string;
let stranger: string;
let alice: SshPrivateKey;
/** base <- mid <- leaf; old <- young (a deprecation only); hidden: the stranger's private image. */
const ids = {} as Record<'base' | 'mid' | 'leaf' | 'old' | 'young' | 'hidden', string>;
const GHOST = '00000000-0000-4000-8000-000000000000';

async function place(file: SignedStatementFile): Promise<void> {
  const path = join(d.dataDir, 'catalog', statementPath(file));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, serializeStatementFile(file));
}

async function record(id: string): Promise<ImageRecord> {
  return JSON.parse(await readFile(join(d.dataDir, 'catalog', recordPath(id)), 'utf8')) as ImageRecord;
}

/** A public image with a file, endorsed by alice a minute ago. */
async function endorsedImage(name: string, fields: Record<string, unknown> = {}): Promise<string> {
  const id = await createImage(d, owner, { name: unique(name), access: 'public', ...fields });
  await uploadFile(d, owner, id, Buffer.alloc(2048, name.length));
  await place(endorse(await record(id), alice, 'alice@site-a', { claims: ['tested'], now: new Date(Date.now() - 120_000) }));
  return id;
}

test.before(async () => {
  d = await startTestDaemon();
  ownerName = unique('owner');
  owner = await addUser(d, ownerName);
  const granteeName = unique('grantee');
  grantee = await addUser(d, granteeName);
  stranger = await addUser(d, unique('stranger'));
  const t = makeKey(await tempDir('visor-trust-ancestry-'), 'alice');
  alice = parsePrivateKeyFile(await readFile(t.file, 'utf8'));
  await mkdir(join(d.dataDir, 'catalog', 'trust'), { recursive: true });
  await writeFile(join(d.dataDir, 'catalog', 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [t.publicLine] }] }));
  ids.base = await endorsedImage('base');
  ids.mid = await endorsedImage('mid', { built_from: ids.base });
  ids.leaf = await endorsedImage('leaf', { built_from: ids.mid });
  ids.old = await endorsedImage('old');
  ids.young = await endorsedImage('young', { built_from: ids.old });
  ids.hidden = await createImage(d, stranger, { name: unique('hidden'), access: 'private' });
  await grant(d, owner, ids.mid, 'users', granteeName, 'commit');
  // alice withdraws her endorsement of the base: everything built on it is flagged.
  await place(revoke(ids.base, alice, 'alice@site-a', 'ships a vulnerable openssl'));
});

test.after.always(async () => {
  await d?.stop();
});

const trustAs = async (key: string | undefined, id: string) => {
  const res = await call(d, key, 'GET', `/images/${id}/endorsements`);
  return { status: res.status, trust: res.json as ImageTrust, text: res.text };
};

test('built_from must name an image in the catalogue: a missing id, one the caller cannot see, or the image itself is refused, naming the field and the rule', async (t) => {
  for (const missing of [GHOST, ids.hidden]) {
    const res = await call(d, owner, 'POST', '/images', { name: unique('orphan'), built_from: missing });
    t.is(res.status, 400, res.text);
    t.like((res.json as { error: { problems: unknown[] } }).error.problems[0], { field: 'built_from', rule: 'reference', message: `built_from: no image ${missing}` });
  }
  const self = await call(d, owner, 'PUT', `/images/${ids.old}`, { built_from: ids.old });
  t.is(self.status, 400);
  t.like((self.json as { error: { problems: unknown[] } }).error.problems[0], { field: 'built_from', rule: 'reference' });
  const malformed = await call(d, owner, 'POST', '/images', { name: unique('bad'), built_from: 'ubuntu-22.04' });
  t.is(malformed.status, 400);
  t.regex(malformed.text, /built_from/);
  t.is((await record(ids.mid)).built_from, ids.base);
});

test('a revocation standing against a base flags every image built on it, two generations down, for whoever may see them', async (t) => {
  for (const key of [owner, grantee, stranger, undefined]) {
    const { status, trust } = await trustAs(key, ids.leaf);
    t.is(status, 200);
    t.deepEqual(trust.endorsements.map((e) => e.state), ['valid']);
    t.deepEqual(trust.ancestry.map((a) => [a.id, a.generation, a.revoked?.map((r) => r.identity)]), [[ids.mid, 1, undefined], [ids.base, 2, ['alice@site-a']]]);
    t.deepEqual(trust.flags.map((f) => [f.rule, f.image]), [['base_revoked', ids.base]]);
    t.regex(trust.flags[0]!.message, new RegExp(`image ${ids.leaf}: rule base_revoked: built on image ${ids.base} \\(its base 2 generations up\\), whose endorsement by alice@site-a was revoked: ships a vulnerable openssl`));
  }
  const mid = await trustAs(stranger, ids.mid);
  t.deepEqual(mid.trust.flags.map((f) => [f.rule, f.image]), [['base_revoked', ids.base]]);
});

test('visor verify fails an image whose base two generations up is revoked, naming the image, the base, the endorser and the rule; offline from a clone too', async (t) => {
  const verified = await visorAt(d).run(['verify', ids.leaf], { env: { VISOR_TOKEN: stranger } });
  t.is(verified.code, 1, verified.stderr);
  t.regex(verified.stderr, new RegExp(`image ${ids.leaf}: rule base_revoked: .*${ids.base}.*alice@site-a.*ships a vulnerable openssl`));
  t.regex(verified.stdout, new RegExp(`built from\\n  ${ids.mid}\\n    ${ids.base}  revoked by alice@site-a: ships a vulnerable openssl`));
  const shown = await visorAt(d).run(['show', ids.leaf], { env: { VISOR_TOKEN: stranger } });
  t.is(shown.code, 0, shown.stderr);
  t.regex(shown.stdout, new RegExp(`built from\\n  ${ids.mid}\\n    ${ids.base}  revoked by alice@site-a: ships a vulnerable openssl\\nflagged: image ${ids.leaf}: rule base_revoked`));
  const offline = await visorAt(d).run(['verify', ids.leaf, '--catalog', join(d.dataDir, 'catalog')]);
  t.is(offline.code, 1, offline.stderr);
  t.regex(offline.stderr, /rule base_revoked/);
  // The base itself fails on its own revocation.
  const base = await visorAt(d).run(['verify', ids.base]);
  t.is(base.code, 1);
  t.regex(base.stderr, new RegExp(`image ${ids.base}: rule revoked: alice@site-a revoked their endorsement: ships a vulnerable openssl`));
});

test('visor deprecate: only the owner may (a commit grantee and a stranger get 403, anonymous 401); the record keeps the reason, replacement, when and by whom, and history keeps the change', async (t) => {
  const body = { deprecation: { reason: 'kernel 5.x is out of support', replaced_by: ids.young } };
  t.is((await call(d, undefined, 'PUT', `/images/${ids.old}`, body)).status, 401);
  t.is((await call(d, stranger, 'PUT', `/images/${ids.old}`, body)).status, 403);
  const asGrantee = await call(d, grantee, 'PUT', `/images/${ids.mid}`, body);
  t.is(asGrantee.status, 403, asGrantee.text);
  // The grantee may still change what a commit grant covers.
  t.is((await call(d, grantee, 'PUT', `/images/${ids.mid}`, { description: 'rebuilt' })).status, 200);
  const refused = await visorAt(d).run(['deprecate', ids.old, '--reason', 'x', '--replaced-by', GHOST], { env: { VISOR_TOKEN: owner } });
  t.not(refused.code, 0);
  t.regex(refused.stderr, new RegExp(`deprecation.replaced_by: no image ${GHOST}`));
  const run = await visorAt(d).run(['--json', 'deprecate', ids.old, '--reason', 'kernel 5.x is out of support', '--replaced-by', ids.young], { env: { VISOR_TOKEN: owner } });
  t.is(run.code, 0, run.stderr);
  const kept = (await record(ids.old)).deprecation!;
  t.like(kept, { reason: 'kernel 5.x is out of support', replaced_by: ids.young, by: ownerName });
  t.true(Math.abs(Date.parse(kept.at!) - Date.now()) < 120_000);
  const history = await call(d, stranger, 'GET', `/images/${ids.old}/history`);
  t.regex(history.text, /kernel 5\.x is out of support/);
  const missingReason = await visorAt(d).run(['deprecate', ids.old], { env: { VISOR_TOKEN: owner } });
  t.not(missingReason.code, 0);
  t.regex(missingReason.stderr, /--reason/);
});

test('a deprecated base flags what is built on it; visor verify passes with a warning (deprecation is not revocation), and fails under a policy that refuses deprecated images', async (t) => {
  await call(d, owner, 'PUT', `/images/${ids.old}`, { deprecation: { reason: 'kernel 5.x is out of support', replaced_by: ids.young } });
  const { trust } = await trustAs(undefined, ids.young);
  t.deepEqual(trust.flags.map((f) => [f.rule, f.image]), [['base_deprecated', ids.old]]);
  t.is(trust.ancestry[0]!.deprecation?.reason, 'kernel 5.x is out of support');
  const verified = await visorAt(d).run(['verify', ids.young], { env: { VISOR_TOKEN: stranger } });
  t.is(verified.code, 0, verified.stderr);
  t.regex(verified.stderr, new RegExp(`warning: image ${ids.young}: rule base_deprecated: built on image ${ids.old} \\(its base\\), deprecated: kernel 5.x is out of support`));
  const dir = await tempDir('visor-trust-policy-');
  await writeFile(join(dir, 'policy.json'), JSON.stringify({ treatment: { deprecated: 'listed' } }));
  const strict = await visorAt(d).run(['verify', ids.young, '--policy', join(dir, 'policy.json')], { env: { VISOR_TOKEN: stranger } });
  t.is(strict.code, 1);
  t.regex(strict.stderr, /rule base_deprecated/);
});

test('the catalogue hooks judge built_from and replaced_by as the daemon does: a push naming an image not in the catalogue is refused, naming the field and rule; deleting a base later is not blocked', async (t) => {
  const { clone } = await serverAndClone({ publicCatalogue: true });
  const base = imageRecord();
  await writeRecordFile(clone, base);
  await writeRecordFile(clone, imageRecord({ built_from: base.id, deprecation: { reason: 'superseded', replaced_by: base.id } }));
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', 'A base and an image built on it');
  const ok = tryGit(clone, 'push', '-q', 'origin', 'HEAD:main');
  t.is(ok.status, 0, ok.stderr);
  const orphan = imageRecord({ built_from: GHOST, deprecation: { reason: 'x', replaced_by: GHOST } });
  const path = await writeRecordFile(clone, orphan);
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '-m', 'An image built on nothing');
  const refused = tryGit(clone, 'push', 'origin', 'HEAD:orphan');
  t.not(refused.status, 0);
  t.regex(refused.stderr, new RegExp(`${path}: .*built_from: no image ${GHOST}.*\\[reference\\]`));
  t.regex(refused.stderr, new RegExp(`${path}: .*deprecation.replaced_by: no image ${GHOST}.*\\[reference\\]`));
  git(clone, 'reset', '-q', '--hard', 'HEAD~1');
  git(clone, 'rm', '-q', recordFile(base.id));
  git(clone, 'commit', '-q', '-m', 'Retire the base');
  const retired = tryGit(clone, 'push', '-q', 'origin', 'HEAD:main');
  t.is(retired.status, 0, retired.stderr);
});

test('visor verify warns ahead of time of an endorsement expiring within 30 days, or within the window its policy sets, and still passes', async (t) => {
  const id = await createImage(d, owner, { name: unique('soon'), access: 'public' });
  await uploadFile(d, owner, id, Buffer.from('expiring soon'));
  await place(endorse(await record(id), alice, 'alice@site-a', { now: new Date(Date.now() - 120_000), expiresAt: new Date(Date.now() + 10 * 86_400_000) }));
  const warned = await visorAt(d).run(['verify', id], { env: { VISOR_TOKEN: stranger } });
  t.is(warned.code, 0, warned.stderr);
  t.regex(warned.stderr, new RegExp(`warning: image ${id}: endorsement by alice@site-a expires at \\S+ \\(in 10 days\\): sign a new one before then`));
  const dir = await tempDir('visor-trust-window-');
  await writeFile(join(dir, 'policy.json'), JSON.stringify({ expiry_warning_days: 5 }));
  const quiet = await visorAt(d).run(['verify', id, '--policy', join(dir, 'policy.json')], { env: { VISOR_TOKEN: stranger } });
  t.is(quiet.code, 0, quiet.stderr);
  t.notRegex(quiet.stderr, /warning/);
  const { trust } = await trustAs(undefined, id);
  t.true(trust.endorsements[0]!.expires_soon);
  t.is(trust.warnings.length, 1);
});

test('visor download --policy judges the image before fetching a byte (exit 1 naming the rule, no file), and accepts only the bytes it judged', async (t) => {
  const dir = await tempDir('visor-trust-download-');
  const policy = join(dir, 'policy.json');
  await writeFile(policy, JSON.stringify({ threshold: 1, required_claims: ['tested'] }));
  const refused = await visorAt(d).run(['download', ids.leaf, join(dir, 'leaf.img'), '--policy', policy], { env: { VISOR_TOKEN: stranger } });
  t.is(refused.code, 1);
  t.regex(refused.stderr, new RegExp(`not downloaded: image ${ids.leaf}: rule base_revoked: .*${ids.base}.*alice@site-a`));
  await t.throwsAsync(readFile(join(dir, 'leaf.img')));
  const accepted = await visorAt(d).run(['download', ids.young, join(dir, 'young.img'), '--policy', policy], { env: { VISOR_TOKEN: stranger } });
  t.is(accepted.code, 0, accepted.stderr);
  t.regex(accepted.stdout, /trust policy met/);
  t.deepEqual(await readFile(join(dir, 'young.img')), Buffer.alloc(2048, 'young'.length));
  // The same bytes on disk changed under the record: the download is not the endorsed bytes.
  const tampered = await endorsedImage('tampered');
  const stored = await storedFile(d.dataDir, await record(tampered));
  await writeFile(stored, Buffer.alloc(2048, 0x41));
  const swapped = await visorAt(d).run(['download', tampered, join(dir, 'tampered.img'), '--policy', policy], { env: { VISOR_TOKEN: stranger } });
  t.not(swapped.code, 0);
  t.regex(swapped.stderr, /checksum|digest/i);
  await t.throwsAsync(readFile(join(dir, 'tampered.img')));
  t.not((await visorAt(d).run(['download', ids.young, join(dir, 'x.img'), '--policy', policy, '--no-verify'])).code, 0);
});

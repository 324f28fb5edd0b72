/**
 * The site's trust policy applied by the daemon (trust.policy, issue 15): in one place, the access
 * rules, so lists, records, endorsement views, downloads and a series' `latest` all agree. An image
 * the policy `refused` is as if it did not exist, one it only `listed` is seen but not downloaded
 * (403 naming the rule) nor a latest; owners and admins see and download everything. Expiry
 * warnings come ahead of time (the policy's expiry_warning_days) in the API and the usage report.
 */
import test from 'ava';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import type { UsageReport } from '../src/api/wire.ts';
import { endorse, revoke, serializeStatementFile } from '../src/trust/Endorsing.ts';
import type { SignedStatementFile } from '../src/trust/EndorsementStatement.ts';
import type { ImageTrust } from '../src/trust/ImageTrust.ts';
import type { PolicyJudgement } from '../src/trust/TrustPolicy.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { recordPath } from '../src/catalog/CatalogLayout.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { git, tempDir } from './helpers/gitRepos.ts';
import { makeKey } from './helpers/sshKeys.ts';
import { visorAt } from './helpers/cli.ts';

const DAY = 86_400_000;
let d: TestDaemon;
let dataDir: string | undefined;
let owner: string;
let grantee: string;
let stranger: string;
let alice: SshPrivateKey;
const series = unique('web');
type Name = 'good' | 'unendorsed' | 'expired' | 'deprecated' | 'revokedBase' | 'child' | 'allowed' | 'denied' | 'granted' | 'grantedBare' | 'secretBase' | 'onSecret';
const ids = {} as Record<Name, string>;

async function place(catalog: 'catalog' | 'private-catalog', file: SignedStatementFile): Promise<void> {
  const path = join(d.dataDir, catalog, statementPath(file));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, serializeStatementFile(file));
}

async function image(name: Name, fields: Record<string, unknown>, endorsement?: { issued: number; expires: number }): Promise<string> {
  const access = (fields['access'] as string | undefined) ?? 'public';
  const id = await createImage(d, owner, { name: unique(name), access, ...fields });
  await uploadFile(d, owner, id, Buffer.from(`${name} bytes`));
  if (endorsement) {
    const catalog = access === 'public' ? 'catalog' : 'private-catalog';
    const record = JSON.parse(await readFile(join(d.dataDir, catalog, recordPath(id)), 'utf8')) as ImageRecord;
    await place(catalog, endorse(record, alice, 'alice@site-a', { claims: ['tested'], now: new Date(Date.now() + endorsement.issued), expiresAt: new Date(Date.now() + endorsement.expires) }));
  }
  ids[name] = id;
  return id;
}

test.before(async () => {
  const dir = await tempDir('visor-site-policy-');
  const t = makeKey(dir, 'alice');
  alice = parsePrivateKeyFile(await readFile(t.file, 'utf8'));
  const policy = join(dir, 'trust-policy.json');
  // Written before the start; the denied and allowed ids are put in once the images exist (the daemon reads it at its start: restarted below).
  await writeFile(policy, '{}');
  d = await startTestDaemon({ config: { trust: { policy } } });
  owner = await addUser(d, unique('owner'));
  const granteeName = unique('grantee');
  grantee = await addUser(d, granteeName);
  stranger = await addUser(d, unique('stranger'));
  await mkdir(join(d.dataDir, 'catalog', 'trust'), { recursive: true });
  await writeFile(join(d.dataDir, 'catalog', 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [t.publicLine] }] }));
  const valid = { issued: -2 * 60_000, expires: 45 * DAY };
  await image('good', { series }, valid);
  await image('unendorsed', {});
  await image('expired', { series }, { issued: -2 * DAY, expires: -DAY });
  await image('deprecated', {}, valid);
  await call(d, owner, 'PUT', `/images/${ids.deprecated}`, { deprecation: { reason: 'superseded', replaced_by: ids.good } });
  await image('revokedBase', {}, valid);
  await place('catalog', revoke(ids.revokedBase, alice, 'alice@site-a', 'backdoored package'));
  await image('child', { built_from: ids.revokedBase }, valid);
  await image('allowed', {});
  await image('denied', {}, valid);
  await image('granted', { access: 'private' }, valid);
  await image('grantedBare', { access: 'private' });
  for (const id of [ids.granted, ids.grantedBare]) await grant(d, owner, id, 'users', granteeName, 'checkout');
  await image('secretBase', { access: 'private' }, valid);
  await call(d, owner, 'PUT', `/images/${ids.secretBase}`, { deprecation: { reason: 'the secret reason' } });
  await image('onSecret', { built_from: ids.secretBase }, valid);
  await writeFile(policy, JSON.stringify({
    threshold: 1,
    endorsers: ['alice@site-a'],
    allow_images: [ids.allowed],
    deny_images: [ids.denied],
    treatment: { unendorsed: 'refused', expired: 'listed', deprecated: 'listed', revoked: 'refused' },
    expiry_warning_days: 60,
  }));
  // The statements arrive as a merged change would: committed to the catalogues (a start sets untracked files aside).
  await d.daemon.close();
  for (const catalog of ['catalog', 'private-catalog']) {
    git(join(d.dataDir, catalog), 'add', '-A');
    git(join(d.dataDir, catalog), 'commit', '-q', '-m', 'Endorsements, revocations and the endorser list, reviewed');
  }
  dataDir = d.dataDir;
  d = await startTestDaemon({ dataDir, config: { trust: { policy } } });
});

test.after.always(async () => {
  await d?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const ACCEPTED: Name[] = ['good', 'allowed'];
const LISTED: Name[] = ['expired', 'deprecated'];
const REFUSED: Name[] = ['unendorsed', 'revokedBase', 'child', 'denied'];
const PUBLIC: Name[] = [...ACCEPTED, ...LISTED, ...REFUSED];

async function listedIds(key: string | undefined): Promise<Set<string>> {
  const res = await call(d, key, 'GET', '/images?limit=1000');
  t0(res.status === 200, res.text);
  return new Set((res.json as { images: Array<{ id: string }> }).images.map((i) => i.id));
}

function t0(ok: boolean, text: string): void {
  if (!ok) throw new Error(text);
}

test('a stranger and anonymous: accepted and listed images are in lists and shown; refused ones are absent everywhere, exactly as an image that never was', async (t) => {
  for (const key of [stranger, undefined]) {
    const seen = await listedIds(key);
    for (const name of [...ACCEPTED, ...LISTED]) {
      t.true(seen.has(ids[name]), `${name} is listed`);
      t.is((await call(d, key, 'GET', `/images/${ids[name]}`)).status, 200, name);
    }
    for (const name of REFUSED) {
      t.false(seen.has(ids[name]), `${name} is not listed`);
      const shown = await call(d, key, 'GET', `/images/${ids[name]}`);
      const ghost = await call(d, key, 'GET', '/images/00000000-0000-4000-8000-000000000000');
      t.is(shown.status, 404, name);
      t.is(shown.text.replaceAll(ids[name], 'ID'), ghost.text.replaceAll('00000000-0000-4000-8000-000000000000', 'ID'));
      t.is((await call(d, key, 'GET', `/images/${ids[name]}/file`)).status, 404, name);
      t.is((await call(d, key, 'GET', `/images/${ids[name]}/endorsements`)).status, 404, name);
    }
  }
});

test('downloads: accepted images are served; a listed one is refused with 403 naming the rule; to a stranger and anonymous alike', async (t) => {
  for (const key of [stranger, undefined]) {
    for (const name of ACCEPTED) {
      const res = await call(d, key, 'GET', `/images/${ids[name]}/file`);
      t.is(res.status, 200, name);
      t.is(res.text, `${name} bytes`);
    }
    const expired = await call(d, key, 'GET', `/images/${ids.expired}/file`);
    t.is(expired.status, 403);
    const error = (expired.json as { error: { message: string; problems: Array<{ rule: string }> } }).error;
    t.regex(error.message, new RegExp(`image ${ids.expired} is not offered for download by this site's trust policy \\(rule threshold\\): image ${ids.expired}: rule threshold: 0 of 1 required endorsers among alice@site-a have a valid endorsement; not counted: alice@site-a: expired`));
    t.deepEqual(error.problems.map((p) => p.rule), ['threshold']);
    const deprecated = await call(d, key, 'GET', `/images/${ids.deprecated}/file`);
    t.is(deprecated.status, 403);
    t.regex(deprecated.text, new RegExp(`rule deprecated\\).*its owner deprecated it: superseded \\(replaced by image ${ids.good}\\)`));
  }
});

test("a series' latest resolves only to an image the policy accepts (the newer expired one is skipped), but the owner's latest is the newest of theirs", async (t) => {
  for (const key of [stranger, undefined]) {
    const res = await call(d, key, 'GET', `/series/${series}/latest`);
    t.is(res.status, 200, res.text);
    t.is((res.json as { id: string }).id, ids.good);
  }
  const own = await call(d, owner, 'GET', `/series/${series}/latest`);
  t.is((own.json as { id: string }).id, ids.expired);
});

test('owners and admins see and download everything the policy refuses, as with hidden images', async (t) => {
  for (const key of [owner, d.token]) {
    const seen = await listedIds(key);
    for (const name of PUBLIC) {
      t.true(seen.has(ids[name]), name);
      t.is((await call(d, key, 'GET', `/images/${ids[name]}/file`)).status, 200, name);
    }
  }
});

test("a grantee is judged like anyone: the endorsed private image they were granted is served; the unendorsed one is as if it did not exist", async (t) => {
  t.is((await call(d, grantee, 'GET', `/images/${ids.granted}/file`)).status, 200);
  t.is((await call(d, grantee, 'GET', `/images/${ids.grantedBare}`)).status, 404);
  t.is((await call(d, grantee, 'GET', `/images/${ids.grantedBare}/file`)).status, 404);
  t.false((await listedIds(grantee)).has(ids.grantedBare));
});

test("the endorsements view carries the policy's judgement and, ahead of time, an endorsement expiring within the policy's 60 days", async (t) => {
  const res = await call(d, stranger, 'GET', `/images/${ids.good}/endorsements`);
  t.is(res.status, 200);
  const trust = res.json as ImageTrust & { policy: PolicyJudgement };
  t.is(trust.policy.treatment, 'downloadable');
  t.true(trust.endorsements[0]!.expires_soon);
  t.regex(trust.warnings[0]!, new RegExp(`image ${ids.good}: endorsement by alice@site-a expires at .* \\(in 45 days\\)`));
  t.deepEqual(trust.policy.warnings, trust.warnings);
  const listed = (await call(d, stranger, 'GET', `/images/${ids.expired}/endorsements`)).json as { policy: PolicyJudgement };
  t.is(listed.policy.treatment, 'listed');
  t.deepEqual(listed.policy.failures.map((f) => [f.rule, f.status]), [['threshold', 'expired']]);
});

test('the usage report lists the endorsements expiring within the window, soonest first', async (t) => {
  const res = await call(d, d.token, 'GET', '/report');
  t.is(res.status, 200, res.text);
  const report = res.json as UsageReport;
  t.is(report.expiring_endorsements.days, 60);
  const expiring = report.expiring_endorsements.endorsements.map((e) => e.image);
  for (const name of ['good', 'deprecated', 'child', 'denied', 'granted'] as const) t.true(expiring.includes(ids[name]), name);
  t.false(expiring.includes(ids.expired));
  t.false(expiring.includes(ids.revokedBase), 'a revoked endorsement is not to renew');
  t.true(report.expiring_endorsements.endorsements.every((e) => e.identity === 'alice@site-a'));
  const text = await visorAt(d).run(['report']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`endorsements expiring within 60 days \\(${report.expiring_endorsements.count}; sign new ones before then\\):[\\s\\S]*${ids.good}`));
});

test("a base the caller cannot see is named, as the record they see names it, but its deprecation's reason is not told: in the 403 nor in the endorsements view; its owner is told", async (t) => {
  for (const key of [stranger, undefined]) {
    const refused = await call(d, key, 'GET', `/images/${ids.onSecret}/file`);
    t.is(refused.status, 403);
    t.regex(refused.text, new RegExp(`rule base_deprecated: built on image ${ids.secretBase}, which you cannot see`));
    t.notRegex(refused.text, /secret reason/);
    const view = await call(d, key, 'GET', `/images/${ids.onSecret}/endorsements`);
    t.is(view.status, 200);
    t.notRegex(view.text, /secret reason/);
    t.deepEqual((view.json as ImageTrust).ancestry, [{ id: ids.secretBase, generation: 1, missing: true }]);
  }
  const own = await call(d, owner, 'GET', `/images/${ids.onSecret}/endorsements`);
  t.regex(own.text, /the secret reason/);
});

test('the Glance v2 edge and the web catalogue apply the same policy: refused images absent, listed ones shown but not served, a series page only with what may be downloaded', async (t) => {
  for (const key of [stranger, undefined]) {
    for (const sort of ['', '&sort=name:asc,created_at:desc']) {
      const list = await call(d, key, 'GET', `/v2/images?limit=1000${sort}`);
      t.is(list.status, 200, list.text);
      const glanceIds = new Set((list.json as { images: Array<{ id: string }> }).images.map((i) => i.id));
      for (const name of [...ACCEPTED, ...LISTED]) t.true(glanceIds.has(ids[name]), `${name} in /v2/images${sort}`);
      for (const name of REFUSED) t.false(glanceIds.has(ids[name]), `${name} not in /v2/images${sort}`);
    }
    for (const name of REFUSED) {
      t.is((await call(d, key, 'GET', `/v2/images/${ids[name]}`)).status, 404, name);
      t.is((await call(d, key, 'GET', `/v2/images/${ids[name]}/file`)).status, 404, name);
      t.is((await call(d, key, 'GET', `/ui/images/${ids[name]}`)).status, 404, name);
    }
    for (const name of ACCEPTED) t.is((await call(d, key, 'GET', `/v2/images/${ids[name]}/file`)).status, 200, name);
    for (const name of LISTED) {
      t.is((await call(d, key, 'GET', `/v2/images/${ids[name]}`)).status, 200, name);
      t.is((await call(d, key, 'GET', `/v2/images/${ids[name]}/file`)).status, 403, name);
    }
    const browse = await call(d, key, 'GET', '/ui/?limit=200');
    t.is(browse.status, 200);
    for (const name of [...ACCEPTED, ...LISTED]) t.true(browse.text.includes(ids[name]), `${name} on /ui/`);
    for (const name of REFUSED) t.false(browse.text.includes(ids[name]), `${name} not on /ui/`);
    const seriesPage = await call(d, key, 'GET', '/ui/series');
    t.true(seriesPage.text.includes(ids.good));
    t.false(seriesPage.text.includes(ids.expired));
  }
});

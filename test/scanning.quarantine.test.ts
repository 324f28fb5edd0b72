import test from 'ava';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { createImage, sha256, unique, uploadFile } from './helpers/images.ts';
import { visorAt } from './helpers/cli.ts';
import { pollUntil } from './helpers/polling.ts';
import { EICAR_SIGNATURE, infectedDisk, NO_CLAMD, testClamd } from './scanning/testClamd.ts';

// Quarantine and what lifts it, scans on demand. Images uploaded while scanning was off (they
// predate it) are scanned by `visor scan` once it is on: an infected one is quarantined; only an
// admin releases it, and nobody else learns anything of a private one.

type Record_ = { id: string; status: string; scan?: { verdict: string; signature?: string; reason?: string; released_by?: string; released_at?: string } };

let d: TestDaemon;
let down: TestDaemon;
let dataDir: string;
const keys = {} as Record<'owner' | 'grantee' | 'stranger', string>;
const names = { owner: unique('olga'), grantee: unique('gina') };
const ids = {} as Record<'publicInfected' | 'privateInfected' | 'clean' | 'toDelete', string>;
const data = infectedDisk();

test.before(async () => {
  const { socket, maxStreamBytes } = await testClamd();
  // Uploaded with scanning off: files that predate the scanner.
  const before = await startTestDaemon({ config: { scanning: { mode: 'off' } } });
  keys.owner = await addUser(before, names.owner);
  keys.grantee = await addUser(before, names.grantee);
  keys.stranger = await addUser(before, unique('sam'));
  for (const [name, access, bytes] of [['publicInfected', 'public', data], ['privateInfected', 'private', data], ['clean', 'private', randomBytes(1 << 20)], ['toDelete', 'private', data]] as const) {
    ids[name] = await createImage(before, keys.owner, { name: unique(name), disk: 'raw', access });
    await uploadFile(before, keys.owner, ids[name], bytes);
    await grant(before, keys.owner, ids[name], 'users', names.grantee, 'checkout');
  }
  // Scanning off: on demand is refused, after the caller's rights (owner) are checked.
  const off = await call(before, keys.owner, 'POST', `/images/${ids.clean}/scan`);
  if (off.status !== 409 || !/scanning is off/.test(off.text)) throw new Error(`scan with scanning off: ${off.status} ${off.text}`);
  await before.daemon.close();
  dataDir = before.dataDir;
  d = await startTestDaemon({ dataDir: before.dataDir, config: { scanning: { mode: 'async', socket, max_stream_bytes: maxStreamBytes } } });
  down = await startTestDaemon({ config: { scanning: { mode: 'async', socket: NO_CLAMD } } });
});
test.after.always(async () => {
  await d?.stop();
  await down?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const scanAs = (key: string | undefined, id: string) => call(d, key, 'POST', `/images/${id}/scan`);
const releaseAs = (key: string | undefined, id: string) => call(d, key, 'POST', `/images/${id}/release`);

test.serial('visor scan by the owner: a file that predates the scanner is found infected and quarantined', async (t) => {
  const run = await visorAt(d).run(['scan', ids.privateInfected], { env: { VISOR_TOKEN: keys.owner } });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /infected: Visor-Test\.EICAR\S* \(quarantined\); scanned \S+ by ClamAV \d/);
  // An admin may scan anyone's image; its answer is the record with the verdict.
  const r = (await scanAs(d.token, ids.publicInfected)).json as Record_;
  t.is(r.scan?.verdict, 'infected');
  t.regex(r.scan!.signature!, EICAR_SIGNATURE);
  // Quarantined: not scanned again (an admin releases or deletes it), and served to nobody.
  t.is((await scanAs(keys.owner, ids.privateInfected)).status, 409);
  for (const id of [ids.publicInfected, ids.privateInfected]) {
    for (const key of [keys.owner, d.token]) t.is((await call(d, key, 'GET', `/images/${id}/file`)).status, 409);
  }
});

test.serial('who may scan: the owner and admins; a grantee or stranger learns nothing more than the image lets them see', async (t) => {
  t.is((await scanAs(keys.owner, ids.clean)).status, 200);
  t.is(((await call(d, keys.owner, 'GET', `/images/${ids.clean}`)).json as Record_).scan?.verdict, 'clean');
  t.is((await scanAs(keys.grantee, ids.clean)).status, 403, 'a checkout grantee sees the image but may not scan it');
  t.is((await scanAs(keys.stranger, ids.clean)).status, 404, 'a private image is not there for a stranger');
  t.is((await scanAs(undefined, ids.clean)).status, 401);
  // Quarantined, even public and granted: as if it did not exist, to anyone but its owner and admins.
  for (const key of [keys.grantee, keys.stranger, undefined]) {
    for (const id of [ids.publicInfected, ids.privateInfected]) {
      t.is((await call(d, key, 'GET', `/images/${id}`)).status, 404);
      t.is((await call(d, key, 'GET', `/images/${id}/history`)).status, 404);
      t.is((await call(d, key, 'GET', `/images/${id}/file`)).status, 404);
    }
  }
  const owner = (await call(d, keys.owner, 'GET', '/images/detail')).json as { images: Record_[] };
  t.is(owner.images.find((i) => i.id === ids.privateInfected)?.scan?.verdict, 'infected', 'listed to its owner with the reason');
});

test.serial('release: admins only (everyone else refused alike, the image named or not); then it is served again', async (t) => {
  for (const key of [keys.owner, keys.grantee, keys.stranger]) {
    const refused = await releaseAs(key, ids.publicInfected);
    t.is(refused.status, 403);
    t.regex(refused.text, /only admins may release/);
  }
  t.is((await releaseAs(undefined, ids.publicInfected)).status, 401);
  t.is((await releaseAs(d.token, ids.clean)).status, 409, 'nothing to release');
  const released = await visorAt(d).run(['release', ids.publicInfected]);
  t.is(released.code, 0, released.stderr);
  t.regex(released.stdout, /released by admin at/);
  const r = (await call(d, undefined, 'GET', `/images/${ids.publicInfected}`)).json as Record_;
  t.is(r.scan?.verdict, 'infected', 'the finding stays on the record');
  t.is(r.scan?.released_by, 'admin');
  t.is(sha256((await call(d, undefined, 'GET', `/images/${ids.publicInfected}/file`)).bytes), sha256(data));
  t.regex((await call(d, d.token, 'GET', `/images/${ids.publicInfected}/history`)).text, /Release image .* from quarantine/);
  // A rescan finding the same thing keeps the admin's release.
  t.is(((await scanAs(d.token, ids.publicInfected)).json as Record_).scan?.released_by, 'admin');
});

test.serial('a quarantined image may be deleted by its owner', async (t) => {
  t.is((await scanAs(keys.owner, ids.toDelete)).status, 200);
  t.is((await call(d, keys.owner, 'DELETE', `/images/${ids.toDelete}`)).status, 200);
  t.is((await call(d, d.token, 'GET', `/images/${ids.toDelete}`)).status, 404);
});

test('scan on demand with clamd down: 503 naming the engine, and the record says there is no verdict', async (t) => {
  const id = await createImage(down, down.token, { name: unique('down'), disk: 'raw' });
  await uploadFile(down, down.token, id, randomBytes(4096));
  // The scan behind the upload (async) first: it holds the file while it runs.
  await pollUntil(async () => (await call(down, down.token, 'GET', `/images/${id}`)).json as Record_, (r) => r.scan !== undefined, { within: 20_000 });
  const res = await call(down, down.token, 'POST', `/images/${id}/scan`);
  t.is(res.status, 503);
  t.regex(res.text, /clamd at \/nonexistent\/visor-test\/clamd\.sock is not reachable/);
  const r = (await call(down, down.token, 'GET', `/images/${id}`)).json as Record_;
  t.is(r.scan?.verdict, 'error');
  t.is(r.status, 'available');
});

test('the record refuses a scan that contradicts itself: a release of a clean file, an infected verdict naming nothing', async (t) => {
  // Through the API the field is read-only; the catalogue's rule holds for records from anywhere else.
  const id = await createImage(d, keys.owner, { name: unique('ro') });
  const put = await call(d, keys.owner, 'PUT', `/images/${id}`, { scan: { verdict: 'clean', scanned_at: new Date().toISOString() } });
  t.is(put.status, 400);
  t.regex(put.text, /scan is read-only/);
  const { scanProblems } = await import('../src/scanning/Quarantine.ts');
  const at = new Date().toISOString();
  t.deepEqual(scanProblems({ scan: { verdict: 'clean', scanned_at: at, released_at: at, released_by: 'x' } }).map((p) => p.rule), ['infected-only', 'infected-only']);
  t.deepEqual(scanProblems({ scan: { verdict: 'infected', scanned_at: at } }).map((p) => p.rule), ['infected-signature']);
});

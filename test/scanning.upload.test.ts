import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { createImage, putFile, sha256, unique } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { startStaticFileServer, type StaticFileServer } from './stores/http/staticFileServer.ts';
import { EICAR_SIGNATURE, infectedDisk, NO_CLAMD, testClamd } from './scanning/testClamd.ts';

// Malware scanning of uploads with the real clamd (the tests' EICAR-only database). Blocking: the
// file is scanned in the upload's one pass and the image is available only once clean; an infected
// one ends quarantined, one over clamd's limit or with clamd down is refused. Async: available at
// once, scanned behind, quarantined when infected; no verdict is recorded as such, never a pass.

type Scan = { verdict: string; signature?: string; reason?: string; engine?: string; scanned_at: string };
type Record_ = { status: string; scan?: Scan; locations?: unknown[] };

let blocking: TestDaemon;
let async: TestDaemon;
let down: TestDaemon;
let downAsync: TestDaemon;
let web: StaticFileServer;
const keys = {} as Record<'owner' | 'grantee' | 'stranger', string>;
const grantee = unique('gina');

test.before(async () => {
  const { socket, maxStreamBytes } = await testClamd();
  web = await startStaticFileServer();
  const stores = { fs: { type: 'fs' }, web: { type: 'http', url: `${web.url}/files/` } };
  [blocking, async, down, downAsync] = await Promise.all([
    startTestDaemon({ config: { stores, scanning: { mode: 'blocking', socket, max_stream_bytes: maxStreamBytes } } }),
    startTestDaemon({ config: { scanning: { mode: 'async', socket, max_stream_bytes: maxStreamBytes } } }),
    startTestDaemon({ config: { scanning: { mode: 'blocking', socket: NO_CLAMD } } }),
    startTestDaemon({ config: { scanning: { mode: 'async', socket: NO_CLAMD } } }),
  ]);
  keys.owner = await addUser(blocking, unique('olga'));
  keys.grantee = await addUser(blocking, grantee);
  keys.stranger = await addUser(blocking, unique('sam'));
});
test.after.always(async () => {
  await Promise.all([blocking, async, down, downAsync].map((d) => d?.stop()));
  await web?.close();
});

async function storedObjects(d: TestDaemon): Promise<string[]> {
  const entries = await readdir(join(d.dataDir, 'images'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}

test('blocking: a clean file is available with its verdict, the engine and the time recorded', async (t) => {
  const id = await createImage(blocking, blocking.token, { name: unique('clean'), disk: 'raw' });
  const res = await putFile(blocking, blocking.token, id, randomBytes(1 << 20));
  t.is(res.status, 200, await res.clone().text());
  const r = (await res.json()) as Record_;
  t.is(r.status, 'available');
  t.is(r.scan?.verdict, 'clean');
  t.regex(r.scan!.engine!, /^ClamAV \d/);
  t.true(Date.now() - Date.parse(r.scan!.scanned_at) < 60_000);
  t.regex((await call(blocking, blocking.token, 'GET', `/images/${id}/history`)).text, /scan: clean/);
});

test('blocking: an infected file ends quarantined: 409 naming the signature, never served, seen only by its owner and admins', async (t) => {
  const id = await createImage(blocking, keys.owner, { name: unique('eicar'), disk: 'raw', access: 'public' });
  await grant(blocking, keys.owner, id, 'users', grantee, 'checkout');
  const disk = infectedDisk();
  const res = await putFile(blocking, keys.owner, id, disk);
  const body = await res.text();
  t.is(res.status, 409);
  t.regex(body, /quarantined/);
  t.regex(body, /Visor-Test\.EICAR/);
  // The owner and an admin see it, with the reason; neither is served its file.
  for (const key of [keys.owner, blocking.token]) {
    const r = (await call(blocking, key, 'GET', `/images/${id}`)).json as Record_;
    t.is(r.status, 'available');
    t.is(r.scan?.verdict, 'infected');
    t.regex(r.scan!.signature!, EICAR_SIGNATURE);
    const download = await call(blocking, key, 'GET', `/images/${id}/file`);
    t.is(download.status, 409);
    t.regex(download.text, /quarantined/);
    t.false(download.bytes.includes(disk.subarray(300_000, 300_068)));
    const list = (await call(blocking, key, 'GET', `/images/detail?name=${(r as unknown as { name: string }).name}`)).json as { images: Record_[] };
    t.is(list.images[0]?.scan?.verdict, 'infected', 'listed with the reason');
  }
  // Public or granted, it is as if it did not exist for everyone else.
  for (const key of [keys.grantee, keys.stranger, undefined]) {
    t.is((await call(blocking, key, 'GET', `/images/${id}`)).status, 404);
    t.is((await call(blocking, key, 'GET', `/images/${id}/file`)).status, 404);
    const list = (await call(blocking, key, 'GET', '/images')).json as { images: Array<{ id: string }> };
    t.false(list.images.some((i) => i.id === id));
  }
});

test('blocking: a file over clamd StreamMaxLength is refused (413 "too large to scan"), the image in error, nothing stored', async (t) => {
  const { maxStreamBytes } = await testClamd();
  const id = await createImage(blocking, blocking.token, { name: unique('big'), disk: 'raw' });
  const res = await putFile(blocking, blocking.token, id, Buffer.alloc(maxStreamBytes + (1 << 20)));
  t.is(res.status, 413);
  t.regex(await res.text(), /too large to scan.*StreamMaxLength/);
  t.is(((await call(blocking, blocking.token, 'GET', `/images/${id}`)).json as Record_).status, 'error');
  t.false((await storedObjects(blocking)).includes(id));
});

test('blocking with clamd down: 503 naming the engine, the image in error, nothing stored', async (t) => {
  const id = await createImage(down, down.token, { name: unique('down'), disk: 'raw' });
  const res = await putFile(down, down.token, id, randomBytes(1 << 20));
  t.is(res.status, 503);
  t.regex(await res.text(), /clamd at \/nonexistent\/visor-test\/clamd\.sock is not reachable/);
  t.is(((await call(down, down.token, 'GET', `/images/${id}`)).json as Record_).status, 'error');
  t.deepEqual(await storedObjects(down), []);
});

test('async: an upload is available at once and scanned behind; an infected file is then quarantined', async (t) => {
  const clean = await createImage(async, async.token, { name: unique('clean'), disk: 'raw', access: 'public' });
  const infected = await createImage(async, async.token, { name: unique('eicar'), disk: 'raw', access: 'public' });
  const data = randomBytes(1 << 20);
  const up = await putFile(async, async.token, clean, data);
  t.is(up.status, 200);
  t.is(((await up.json()) as Record_).status, 'available');
  t.is((await putFile(async, async.token, infected, infectedDisk())).status, 200);
  const scanned = (id: string) => pollUntil(async () => (await call(async, async.token, 'GET', `/images/${id}`)).json as Record_, (r) => r.scan !== undefined, { within: 20_000 });
  t.is((await scanned(clean)).scan?.verdict, 'clean');
  t.is(sha256((await call(async, undefined, 'GET', `/images/${clean}/file`)).bytes), sha256(data));
  const r = await scanned(infected);
  t.is(r.scan?.verdict, 'infected');
  t.regex(r.scan!.signature!, EICAR_SIGNATURE);
  t.is((await call(async, async.token, 'GET', `/images/${infected}/file`)).status, 409);
  t.is((await call(async, undefined, 'GET', `/images/${infected}`)).status, 404);
});

test('async with clamd down: available, and the record says the scan gave no verdict and why', async (t) => {
  const id = await createImage(downAsync, downAsync.token, { name: unique('down'), disk: 'raw' });
  t.is((await putFile(downAsync, downAsync.token, id, randomBytes(4096))).status, 200);
  const r = await pollUntil(async () => (await call(downAsync, downAsync.token, 'GET', `/images/${id}`)).json as Record_, (x) => x.scan !== undefined, { within: 20_000 });
  t.is(r.status, 'available');
  t.is(r.scan?.verdict, 'error');
  t.regex(r.scan!.reason!, /clamd at \/nonexistent\/visor-test\/clamd\.sock is not reachable/);
});

test('configuration: an unknown mode or a relative socket is refused naming the setting', async (t) => {
  await t.throwsAsync(startTestDaemon({ config: { scanning: { mode: 'sometimes' } } }), { message: /scanning\.mode.*off, async, blocking/ });
  await t.throwsAsync(startTestDaemon({ config: { scanning: { mode: 'async', socket: 'clamd.sock' } } }), { message: /scanning\.socket/ });
});

test('blocking: a file registered by URL is scanned in the read that digests it, like an upload', async (t) => {
  await web.put('infected.raw', infectedDisk());
  await web.put('clean.raw', randomBytes(1 << 20));
  const clean = await createImage(blocking, blocking.token, { name: unique('by-url'), disk: 'raw' });
  const linked = await call(blocking, blocking.token, 'POST', `/images/${clean}/locations`, { url: `${web.url}/files/clean.raw` });
  t.is(linked.status, 200, linked.text);
  t.is((linked.json as Record_).scan?.verdict, 'clean');
  const infected = await createImage(blocking, blocking.token, { name: unique('by-url'), disk: 'raw', access: 'public' });
  const refused = await call(blocking, blocking.token, 'POST', `/images/${infected}/locations`, { url: `${web.url}/files/infected.raw` });
  t.is(refused.status, 409);
  t.regex(refused.text, /quarantined.*Visor-Test\.EICAR/);
  t.is((await call(blocking, undefined, 'GET', `/images/${infected}`)).status, 404);
  t.is((await call(blocking, blocking.token, 'GET', `/images/${infected}/file`)).status, 409);
});

test('scans on demand are bounded daemon-wide: past two at once, 429 with Retry-After, whoever asks', async (t) => {
  const ids = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const id = await createImage(blocking, keys.owner, { name: unique('many'), disk: 'raw' });
      t.is((await putFile(blocking, keys.owner, id, randomBytes(4 << 20))).status, 200);
      return id;
    }),
  );
  const answers = await Promise.all(ids.map((id) => call(blocking, keys.owner, 'POST', `/images/${id}/scan`)));
  const statuses = answers.map((a) => a.status);
  t.true(statuses.every((s) => s === 200 || s === 429), statuses.join(' '));
  t.true(statuses.filter((s) => s === 200).length >= 2, statuses.join(' '));
  const refused = answers.filter((a) => a.status === 429);
  t.true(refused.length >= 1, statuses.join(' '));
  for (const a of refused) {
    t.is(a.headers.get('retry-after'), '5');
    t.regex(a.text, /scans on demand are running/);
  }
});

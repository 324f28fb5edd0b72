import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { request, type ClientRequest } from 'node:http';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { answerOf, call, type Answer } from './helpers/http.ts';
import { createImage, sha256, uploadFile } from './helpers/images.ts';
import { startTcpRelay, type TcpRelay } from './helpers/tcpRelay.ts';
import { freshBucket, testSwift, type TestSwift } from './stores/swift/testSwift.ts';

// A store that dies or goes silent mid-transfer, as the daemon meets it: a real loopback TCP relay
// stands between the daemon and the tests' real Swift (its S3 API and its own), and the test kills or
// freezes the relay, never the shared Swift. Every transfer must end in bounded time, the image in
// `error` with nothing visible in the store, and a retry must work once the store is back.

const MiB = 1024 * 1024;
/** What "answers in bounded time" means here: the daemon's timeouts are seconds; the machine is loaded. */
const BOUND_MS = 25_000;
const IDLE_MS = 1000;

let swift: TestSwift;
let bucket: string;
let container: string;
let dataDir: string;
let d: TestDaemon;
let s3: S3Client;
const relays: Record<string, TcpRelay> = {};
const logLines: string[] = [];

test.before(async () => {
  swift = await testSwift();
  const target = { host: '127.0.0.1', port: Number(new URL(swift.url).port) };
  for (const name of ['s3', 'swift', 'gone', 'hole', 'swifthole']) relays[name] = await startTcpRelay(target);
  // A store whose port is closed: nothing listens there any more.
  await relays['gone']!.kill();
  bucket = await freshBucket(swift, 'visor-fail');
  container = `visor-fail-${randomBytes(4).toString('hex')}`;
  dataDir = await mkdtemp(join(tmpdir(), 'visor-store-failure-'));
  // Each store under its own prefix: two stores over one place are refused.
  const s3Store = (name: string, more: Record<string, string | number | boolean> = {}) => ({
    type: 's3', endpoint: relays[name]!.url, bucket, prefix: `${name}/`, access_key_id: swift.user, secret_access_key: swift.key, part_size: 5 * MiB, max_parts: 1000, retries: 1, timeout_ms: 5000, ...more,
  });
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) });
  d = await startTestDaemon({
    dataDir,
    logger: pino({ level: 'info' }, sink),
    config: {
      stores: {
        s3: s3Store('s3'),
        gone: s3Store('gone'),
        hole: s3Store('hole', { timeout_ms: IDLE_MS, retries: 0 }),
        swift: { type: 'swift', auth_url: `${relays['swift']!.url}/auth/v1.0`, user: swift.user, key: swift.key, container, segment_size: 4 * MiB, retries: 1, timeout_ms: 5000 },
        swifthole: { type: 'swift', auth_url: `${relays['swifthole']!.url}/auth/v1.0`, user: swift.user, key: swift.key, container: `${container}-hole`, segment_size: 4 * MiB, retries: 0, timeout_ms: IDLE_MS },
      },
    },
  });
  s3 = new S3Client({ endpoint: swift.url, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: swift.user, secretAccessKey: swift.key } });
});

test.after.always(async () => {
  await d?.stop();
  for (const relay of Object.values(relays)) await relay.close();
  s3?.destroy();
  if (dataDir) await rm(dataDir, { recursive: true, force: true, maxRetries: 5 });
});

const register = (store: string) => createImage(d, d.token, { name: `img-${randomBytes(3).toString('hex')}`, access: 'public', store });
const record = async (id: string) => (await call(d, d.token, 'GET', `/images/${id}`)).json as Record<string, unknown>;

/**
 * PUT of an image file sent the way a client streams one, its answer taken whenever it comes (a
 * daemon may answer before reading the whole body); rejects if none comes within `within` ms.
 */
function streamUpload(id: string, data: Buffer, within = BOUND_MS): Promise<Answer & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request(`${d.url}/images/${id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/octet-stream', 'content-length': String(data.length) } });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${within} ms`));
    }, within);
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        req.destroy();
        const bytes = Buffer.concat(parts);
        let json: unknown;
        try {
          json = JSON.parse(bytes.toString());
        } catch {
          json = undefined;
        }
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (typeof value === 'string') headers.set(name, value);
        resolve({ status: res.statusCode!, headers, text: bytes.toString(), bytes, json, ms: Date.now() - started });
      });
    });
    req.on('error', (e) => {
      if (answered) return;
      clearTimeout(timer);
      reject(e);
    });
    // Sent in 1 MiB pieces with back-pressure, as a real client would.
    void (async () => {
      for (let at = 0; at < data.length && !answered && !req.destroyed; at += MiB) {
        if (!req.write(data.subarray(at, at + MiB))) await drainedOrClosed(req);
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

/** Until the request can take more, or is over. */
function drainedOrClosed(req: ClientRequest): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      req.off('drain', done);
      req.off('close', done);
      resolve();
    };
    req.on('drain', done);
    req.on('close', done);
  });
}

const exists = (path: string) => stat(path).then(
  () => true,
  () => false,
);

/** A request that must answer within the bound. */
async function bounded(method: string, path: string, body?: unknown): Promise<Answer & { ms: number }> {
  const started = Date.now();
  const res = await fetch(`${d.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${d.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(BOUND_MS),
  });
  return { ...answerOf(res.status, res.headers, Buffer.from(await res.arrayBuffer())), ms: Date.now() - started };
}

/** Keys of the objects visible in an S3 store, asked of the store directly (not through the relay). */
async function s3Keys(store: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${store}/` }));
  return (listed.Contents ?? []).map((o) => o.Key!.slice(store.length + 1));
}

/** Keys of the multipart uploads an S3 store holds unfinished. */
async function s3Uploads(store: string): Promise<string[]> {
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${store}/` }));
  return (listed.Uploads ?? []).map((u) => u.Key!.slice(store.length + 1));
}

/** Names of the objects visible in the Swift store's container, asked of Swift directly (TempAuth). */
async function swiftNames(): Promise<string[]> {
  const auth = await fetch(swift.authUrl, { headers: { 'x-auth-user': swift.user, 'x-auth-key': swift.key } });
  const listed = await fetch(`${auth.headers.get('x-storage-url')!}/${container}?format=json`, { headers: { 'x-auth-token': auth.headers.get('x-auth-token')! } });
  if (listed.status === 404 || listed.status === 204) return [];
  return ((await listed.json()) as Array<{ name: string }>).map((o) => o.name);
}

/** The error answer's shape, the one every error of the API has; what it may not reveal. */
function assertStoreFailureAnswer(t: ExecutionContext, answer: Answer, store: string): void {
  t.is(answer.status, 503, answer.text);
  const error = (answer.json as { error: { code: string; message: string } }).error;
  t.is(error.code, 'unavailable');
  t.regex(error.message, new RegExp(`store ${store}`));
  t.false(/127\.0\.0\.1|localhost/.test(error.message), `the answer names no endpoint: ${error.message}`);
  t.log(error.message);
}

/** What the public history says of the image: no endpoint, port or path of the store. */
async function assertHistoryDiscreet(t: ExecutionContext, id: string, relay: TcpRelay): Promise<void> {
  const history = (await call(d, d.token, 'GET', `/images/${id}/history`)).json as { history: Array<{ message: string }> };
  const failed = history.history.find((e) => /failed/.test(e.message));
  t.truthy(failed, 'the failure is recorded');
  t.regex(failed!.message, /^Upload of image \S+ failed: the store \S+ failed during the upload$/);
  // The record's uri is the daemon's own address; everything else must say nothing of the store's.
  const { uri: _uri, ...rest } = await record(id);
  const all = JSON.stringify(history) + JSON.stringify(rest);
  for (const secret of ['127.0.0.1', String(relay.port), 'ECONNRESET', 'ECONNREFUSED', 'socket', swift.user]) t.false(all.includes(secret), `the history does not mention ${secret}`);
}

test.serial('an S3 store whose connection dies mid-upload: 503 in bounded time, the image in error, nothing visible; a retry works once the store is back; gc collects the unfinished upload', async (t) => {
  const relay = relays['s3']!;
  t.teardown(() => relay.revive());
  const id = await register('s3');
  const data = randomBytes(24 * MiB);
  void relay.killAfterUpstream(8 * MiB);
  // Far more than the parts in flight can have read ahead when the store dies: the answer surely
  // comes before the body is read (with 24 MiB, the whole body was sometimes in by then).
  const answer = await streamUpload(id, randomBytes(96 * MiB));
  assertStoreFailureAnswer(t, answer, 's3');
  t.is(answer.headers.get('connection'), 'close', 'answered before the body was read: the connection is not reused');
  t.log(`answered in ${answer.ms} ms`);
  t.is((await record(id))['status'], 'error');
  t.false((await s3Keys('s3')).includes(id), 'nothing visible under the key');
  await assertHistoryDiscreet(t, id, relay);
  t.false(JSON.stringify(answer.json).includes(String(relay.port)));
  // The details are the operator's: in the daemon's log, with the connection's own error.
  t.true(logLines.some((l) => l.includes(id) && /ECONN(REFUSED|RESET)/.test(l)), 'the daemon log has the details');

  await relay.revive();
  const retried = await streamUpload(id, data);
  t.is(retried.status, 200, retried.text);
  t.is((retried.json as { checksum: string }).checksum, sha256(data));
  t.true((await s3Keys('s3')).includes(id));

  // The multipart upload the dead store could not be told to abort is collected.
  const gc = await bounded('POST', '/stores/s3/gc', { older_than_seconds: 0 });
  t.is(gc.status, 200, gc.text);
  t.deepEqual(await s3Uploads('s3'), []);
});

test.serial('a Swift store whose connection dies mid-upload: 503 in bounded time, the image in error, nothing visible; a retry works', async (t) => {
  const relay = relays['swift']!;
  t.teardown(() => relay.revive());
  const id = await register('swift');
  const data = randomBytes(20 * MiB);
  void relay.killAfterUpstream(7 * MiB);
  const answer = await streamUpload(id, data);
  assertStoreFailureAnswer(t, answer, 'swift');
  t.log(`answered in ${answer.ms} ms`);
  t.is((await record(id))['status'], 'error');
  t.false((await swiftNames()).includes(id), 'nothing visible under the name');
  await assertHistoryDiscreet(t, id, relay);
  await relay.revive();
  const retried = await streamUpload(id, data);
  t.is(retried.status, 200, retried.text);
  t.true((await swiftNames()).includes(id));
  const dl = await fetch(`${d.url}/images/${id}/file`);
  t.is(sha256(Buffer.from(await dl.arrayBuffer())), sha256(data));
});

test.serial('a store that stops answering mid-upload without closing (a black hole) fails the upload after its idle timeout', async (t) => {
  const relay = relays['hole']!;
  t.teardown(() => relay.revive());
  const id = await register('hole');
  const data = randomBytes(12 * MiB);
  void relay.freezeAfterUpstream(6 * MiB);
  const answer = await streamUpload(id, data);
  assertStoreFailureAnswer(t, answer, 'hole');
  t.log(`answered in ${answer.ms} ms`);
  t.is((await record(id))['status'], 'error');
  await relay.revive();
  t.is((await streamUpload(id, data)).status, 200);
});

test.serial('a Swift store that stops answering mid-upload (a black hole) fails the upload after its idle timeout', async (t) => {
  const relay = relays['swifthole']!;
  t.teardown(() => relay.revive());
  const id = await register('swifthole');
  void relay.freezeAfterUpstream(3 * MiB);
  const answer = await streamUpload(id, randomBytes(10 * MiB));
  assertStoreFailureAnswer(t, answer, 'swifthole');
  t.log(`answered in ${answer.ms} ms`);
  t.is((await record(id))['status'], 'error');
});

test.serial('a copy to a store whose port is closed answers 503 in bounded time and changes nothing', async (t) => {
  const id = await register('fs');
  const data = randomBytes(12 * MiB);
  await uploadFile(d, d.token, id, data);
  const answer = await bounded('POST', `/images/${id}/copy`, { to: 'gone' });
  assertStoreFailureAnswer(t, answer, 'gone');
  const after = await record(id);
  t.is(after['status'], 'available');
  t.deepEqual(after['locations'], [{ store: 'fs', key: id }]);
});

test.serial('a copy whose target (Swift) dies mid-stream answers 503 in bounded time, publishes nothing, and runs again once the store is back', async (t) => {
  const relay = relays['swift']!;
  t.teardown(() => relay.revive());
  // From another remote store: its bytes come at the network's pace, as in a real copy.
  const id = await register('s3');
  const data = randomBytes(20 * MiB);
  await uploadFile(d, d.token, id, data);
  void relay.killAfterUpstream(7 * MiB);
  const answer = await bounded('POST', `/images/${id}/copy`, { to: 'swift' });
  assertStoreFailureAnswer(t, answer, 'swift');
  t.log(`answered in ${answer.ms} ms`);
  t.false((await swiftNames()).includes(id), 'nothing visible under the name');
  t.deepEqual((await record(id))['locations'], [{ store: 's3', key: id }]);
  await relay.revive();
  const again = await bounded('POST', `/images/${id}/copy`, { to: 'swift' });
  t.is(again.status, 200, again.text);
});

/** A download whose store fails mid-stream: the response starts, then ends short of the whole file (aborted, never hung), and the daemon still answers. */
async function assertDownloadCut(t: ExecutionContext, id: string, size: number): Promise<void> {
  const started = Date.now();
  const res = await fetch(`${d.url}/images/${id}/file`, { signal: AbortSignal.timeout(BOUND_MS) });
  t.is(res.status, 200);
  const read = await res.arrayBuffer().then(
    (b) => `whole ${b.byteLength}`,
    (e: Error) => e.name,
  );
  t.not(read, `whole ${size}`);
  t.not(read, 'TimeoutError', 'the response ended before the client gave up');
  t.log(`ended in ${Date.now() - started} ms (${read})`);
  t.is((await call(d, d.token, 'GET', `/images/${id}`)).status, 200, 'the daemon still answers');
}

test.serial('a download whose store dies mid-stream ends the client response (aborted, not hung), and the daemon goes on', async (t) => {
  const relay = relays['s3']!;
  t.teardown(() => relay.revive());
  const id = await register('s3');
  const data = randomBytes(12 * MiB);
  t.is((await streamUpload(id, data)).status, 200);
  // Armed before the request: the relay counts from here, whatever the client has read so far.
  void relay.killAfterDownstream(4 * MiB);
  await assertDownloadCut(t, id, data.length);
  await relay.revive();
});

test.serial('store gc removes the object a failed upload left under an image in error, even without `unreferenced`, and nothing an image names', async (t) => {
  const failed = await register('fs');
  // A checksum the bytes do not have: the upload fails, the image is in error.
  t.is((await call(d, d.token, 'PUT', `/images/${failed}/file?checksum=sha256:${'0'.repeat(64)}`, randomBytes(1000))).status, 400);
  t.is((await record(failed))['status'], 'error');
  // What a daemon that crashed between publishing the object and recording it leaves: the object
  // under the image's id, named by no location.
  const leftover = join(dataDir, 'images', failed.slice(0, 2), failed);
  await mkdir(dirname(leftover), { recursive: true });
  await writeFile(leftover, randomBytes(2000));
  const kept = await register('fs');
  const keptData = randomBytes(3000);
  await uploadFile(d, d.token, kept, keptData);
  type Gc = { unreferenced: Array<{ key: string; removed: boolean }>; errors: string[] };
  const dry = (await bounded('POST', '/stores/fs/gc', { dry_run: true, older_than_seconds: 0 })).json as Gc;
  t.deepEqual(dry.unreferenced.map((o) => [o.key, o.removed]), [[failed, false]]);
  t.true(await exists(leftover), 'a dry run removes nothing');
  const gc = (await bounded('POST', '/stores/fs/gc', { older_than_seconds: 0 })).json as Gc;
  t.deepEqual(gc.unreferenced.map((o) => [o.key, o.removed]), [[failed, true]]);
  t.deepEqual(gc.errors, []);
  t.false(await exists(leftover));
  const dl = await fetch(`${d.url}/images/${kept}/file`);
  t.is(sha256(Buffer.from(await dl.arrayBuffer())), sha256(keptData), 'an available image keeps its file');
  t.is((await streamUpload(failed, randomBytes(1000))).status, 200, 'the failed image can be uploaded again');
});

test.serial('a copy whose source store dies mid-stream answers 503 in bounded time, naming the source, and adds no location', async (t) => {
  const relay = relays['s3']!;
  t.teardown(() => relay.revive());
  const id = await register('s3');
  const data = randomBytes(16 * MiB);
  t.is((await streamUpload(id, data)).status, 200);
  void relay.killAfterDownstream(4 * MiB);
  const answer = await bounded('POST', `/images/${id}/copy`, { to: 'fs' });
  assertStoreFailureAnswer(t, answer, 's3');
  t.deepEqual((await record(id))['locations'], [{ store: 's3', key: id }]);
});

test.serial('a download whose store stops answering mid-stream (a black hole) is cut off after the idle timeout', async (t) => {
  const relay = relays['hole']!;
  t.teardown(() => relay.revive());
  const id = await register('hole');
  const data = randomBytes(12 * MiB);
  t.is((await streamUpload(id, data)).status, 200);
  // Armed before the request: the relay counts from here, whatever the client has read so far.
  void relay.freezeAfterDownstream(3 * MiB);
  await assertDownloadCut(t, id, data.length);
});

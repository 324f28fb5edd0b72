import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { ConfigFile } from '../src/config/VisorConfig.ts';
import { S3Store } from '../src/store/s3/S3Store.ts';
import { freshBucket, testSwift, type TestSwift } from './stores/swift/testSwift.ts';
import { startStaticFileServer, type StaticFileServer } from './stores/http/staticFileServer.ts';
import { startWebHdfsTestServer, type WebHdfsTestServer } from './stores/webhdfs/webHdfsTestServer.ts';
import { authed, jsonRequest } from './helpers/http.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { visorAt } from './helpers/cli.ts';
import { createImage, sha256, uploadFile } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';

// One daemon with every kind of store, the real ones real: S3 and Swift through the test Swift, an
// http store on a real web server, WebHDFS on the in-test namenode/datanode pair.
let swift: TestSwift;
let web: StaticFileServer;
let hdfs: WebHdfsTestServer;
let bucket: string;
let daemon: TestDaemon;
let dataDir: string;
const logLines: string[] = [];
const S3_SECRET = swiftKeyPlaceholder();

function swiftKeyPlaceholder(): string {
  return 'testing';
}

function config(s3Endpoint: string): ConfigFile {
  return {
    data_dir: dataDir,
    server: { port: 0 },
    log: { level: 'debug' },
    auth: { key_hash_cost: 10 },
    stores: {
      s3: { type: 's3', endpoint: s3Endpoint, bucket, prefix: 'visor/', access_key_id: swift.user, secret_access_key: S3_SECRET, part_size: 5 * 1024 * 1024, max_parts: 1000, retries: 0, timeout_ms: 5000 },
      swift: { type: 'swift', auth_url: swift.authUrl, user: swift.user, key: swift.key, container: `visor-api-${randomBytes(4).toString('hex')}`, segment_size: 1024 * 1024 },
      web: { type: 'http', url: `${web.url}/files/` },
      hdfs: { type: 'hdfs', url: hdfs.url, path: '/images', user: hdfs.user },
    },
  };
}

async function start(s3Endpoint = swift.url): Promise<TestDaemon> {
  const sink = new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) });
  return startTestDaemon({ dataDir, config: config(s3Endpoint), logger: pino({ level: 'debug' }, sink) });
}

test.before(async () => {
  swift = await testSwift();
  web = await startStaticFileServer();
  hdfs = await startWebHdfsTestServer();
  bucket = await freshBucket(swift, 'visor-api');
  dataDir = await mkdtemp(join(tmpdir(), 'visor-stores-api-'));
  daemon = await start();
});
test.after.always(async () => {
  await daemon?.stop();
  await web?.close();
  await hdfs?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const register = (body: Record<string, unknown> = {}) => createImage(daemon, daemon.token, { name: 'img', access: 'public', ...body });
const upload = (id: string, data: Buffer) => uploadFile(daemon, daemon.token, id, data);

const post = (path: string, body: unknown, anonymous = false) => fetch(`${daemon.url}${path}`, jsonRequest(anonymous ? undefined : daemon.token, 'POST', body));
const download = async (id: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${daemon.url}/images/${id}/file`, { headers });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
};

for (const store of ['s3', 'swift', 'hdfs']) {
  test(`an image whose store is ${store} is uploaded there, located there, and read back`, async (t) => {
    const data = randomBytes(3 * 1024 * 1024 + 11);
    const id = await register({ store });
    const record = await upload(id, data);
    t.deepEqual(record['locations'], [{ store, key: id }]);
    const dl = await download(id);
    t.is(sha256(dl.body), sha256(data));
    const range = await download(id, { range: 'bytes=1048570-1048580' });
    t.is(range.status, 206);
    t.deepEqual(range.body, data.subarray(1048570, 1048581));
  });
}

test('copy to another store verifies and adds the location; running it again changes nothing; move keeps only the target', async (t) => {
  const data = randomBytes(6 * 1024 * 1024 + 3);
  const id = await register();
  await upload(id, data);
  const copied = await post(`/images/${id}/copy`, { to: 's3' });
  t.is(copied.status, 200);
  t.deepEqual(((await copied.json()) as { locations: unknown }).locations, [{ store: 'fs', key: id }, { store: 's3', key: id }]);
  const again = (await (await post(`/images/${id}/copy`, { to: 's3' })).json()) as { locations: unknown[] };
  t.is(again.locations.length, 2);
  const moved = (await (await post(`/images/${id}/copy`, { to: 'swift', move: true })).json()) as { locations: unknown; store: string };
  t.deepEqual(moved.locations, [{ store: 'swift', key: id }]);
  t.is(moved.store, 'swift');
  t.is(sha256((await download(id)).body), sha256(data));
  const fsFiles = await readdir(join(dataDir, 'images'), { recursive: true });
  t.false(fsFiles.some((f) => f.endsWith(id)), 'the old fs file is gone');
});

test('copy refuses unknown and read-only targets, naming the field or the store', async (t) => {
  const id = await register();
  await upload(id, Buffer.from('x'));
  const unknown = await post(`/images/${id}/copy`, { to: 'nowhere' });
  t.is(unknown.status, 400);
  t.is(((await unknown.json()) as { error: { problems: Array<{ field: string }> } }).error.problems[0]?.field, 'to');
  const readOnly = await post(`/images/${id}/copy`, { to: 'web' });
  t.is(readOnly.status, 409);
  t.regex(((await readOnly.json()) as { error: { message: string } }).error.message, /store web \(http\) is read-only/);
  t.is((await post(`/images/${id}/copy`, { to: 's3' }, true)).status, 401);
});

test('an image registered by URL is read through the gateway, with Range passed on; a wrong checksum is refused', async (t) => {
  const data = randomBytes(200_000);
  await web.put('releases/cirros.img', data);
  const id = await register();
  const wrong = await post(`/images/${id}/locations`, { url: `${web.url}/files/releases/cirros.img`, checksum: `sha256:${'0'.repeat(64)}` });
  t.is(wrong.status, 400);
  t.is(((await (await fetch(`${daemon.url}/images/${id}`)).json()) as { status: string }).status, 'locked');
  const linked = await post(`/images/${id}/locations`, { url: `${web.url}/files/releases/cirros.img` });
  t.is(linked.status, 200);
  const record = (await linked.json()) as { status: string; checksum: string; size: number; locations: unknown };
  t.deepEqual([record.status, record.checksum, record.size], ['available', sha256(data), data.length]);
  t.deepEqual(record.locations, [{ store: 'web', key: 'releases/cirros.img' }]);
  const part = await download(id, { range: 'bytes=100-199' });
  t.is(part.status, 206);
  t.deepEqual(part.body, data.subarray(100, 200));
  const unknownHost = await post(`/images/${await register()}/locations`, { url: 'http://127.0.0.1:9/elsewhere.img' });
  t.is(unknownHost.status, 400);
  t.is(((await unknownHost.json()) as { error: { problems: Array<{ field: string }> } }).error.problems[0]?.field, 'url');
  // Deleting the image forgets the location; the web server's file stays.
  t.is((await fetch(`${daemon.url}/images/${id}`, authed(daemon.token, { method: 'DELETE' }))).status, 200);
  t.is((await fetch(`${web.url}/files/releases/cirros.img`)).status, 200);
});

test('store gc finds a crashed multipart upload, reports it on a dry run, and removes it', async (t) => {
  const s3 = new S3Store({ name: 's3', bucket, prefix: 'visor/', region: 'us-east-1', endpoint: swift.url, forcePathStyle: true, credentials: { accessKeyId: swift.user, secretAccessKey: swift.key }, partSize: 5 * 1024 * 1024, parallelParts: 2, maxParts: 1000, timeoutMs: 10_000, retries: 1 });
  const w = await s3.write('crashed-write');
  w.stream.write(randomBytes(11 * 1024 * 1024));
  const gc = async (body: Record<string, unknown>) => (await (await post('/stores/s3/gc', body)).json()) as { incomplete: Array<{ key: string; removed: boolean }> };
  // The upload is begun once its first part is on its way: wait for the store to know it.
  const found = await pollUntil(async () => (await gc({ dry_run: true, older_than_seconds: 0 })).incomplete.filter((x) => x.key === 'crashed-write'), (f) => f.length > 0, { within: 10_000, every: 100 });
  t.deepEqual(found.map((x) => x.removed), [false]);
  const young = await gc({ older_than_seconds: 3600 });
  t.false(young.incomplete.some((x) => x.key === 'crashed-write'), 'a recent upload may still be running: left alone');
  const removed = (await gc({ older_than_seconds: 0 })).incomplete.filter((x) => x.key === 'crashed-write');
  t.deepEqual(removed.map((x) => x.removed), [true]);
  t.deepEqual((await gc({ dry_run: true, older_than_seconds: 0 })).incomplete.filter((x) => x.key === 'crashed-write'), []);
  t.is((await post('/stores/s3/gc', {}, true)).status, 401);
  t.is((await post('/stores/s3/gc', { older_than_seconds: -1 })).status, 400);
  w.stream.destroy();
  await w.abort().catch(() => undefined);
  await s3.close();
});

test.serial('GET /health reports each store; downloads fall back to the next location when the first store is down', async (t) => {
  const data = randomBytes(1024 * 1024);
  const id = await register({ store: 's3' });
  await upload(id, data);
  t.is((await post(`/images/${id}/copy`, { to: 'hdfs' })).status, 200);
  const health = (await (await fetch(`${daemon.url}/health`)).json()) as { stores: Record<string, { ok: boolean; type: string }> };
  t.deepEqual(Object.fromEntries(Object.entries(health.stores).map(([n, s]) => [n, [s.type, s.ok]])), { fs: ['fs', true], s3: ['s3', true], swift: ['swift', true], web: ['http', true], hdfs: ['hdfs', true] });

  // The same catalogue, with the S3 endpoint now unreachable.
  await daemon.stop();
  daemon = await start('http://127.0.0.1:9');
  try {
    const down = await fetch(`${daemon.url}/health`, authed(daemon.token));
    t.is(down.status, 503);
    const body = (await down.json()) as { stores: Record<string, { ok: boolean; detail?: string }> };
    t.false(body.stores['s3']!.ok);
    t.regex(body.stores['s3']!.detail ?? '', /store s3 \(s3\)/);
    t.is(sha256((await download(id)).body), sha256(data), 'read from hdfs, the next location');
  } finally {
    await daemon.stop();
    daemon = await start();
  }
});

test('credentials never reach the catalogue, a response or a log line', async (t) => {
  const id = await register({ store: 'swift' });
  await upload(id, randomBytes(2000));
  await post(`/images/${id}/copy`, { to: 's3' });
  const { data_dir: _shared, ...settings } = config(swift.url);
  const bad = await startTestDaemon({
    config: { ...settings, stores: { s3: { ...settings.stores!['s3'], secret_access_key: 'Sup3rSecretValue' } } },
    logger: pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) })),
  });
  const responses: string[] = [];
  try {
    responses.push(await (await fetch(`${bad.url}/health`)).text());
    const res = await fetch(`${bad.url}/images`, jsonRequest(bad.token, 'POST', { name: 'x', store: 's3' }));
    const other = ((await res.json()) as { id: string }).id;
    responses.push(await (await fetch(`${bad.url}/images/${other}/file`, authed(bad.token, { method: 'PUT', body: 'abc' }))).text());
    responses.push(await (await fetch(`${bad.url}/stores`, authed(bad.token))).text());
  } finally {
    await bad.stop();
  }
  responses.push(await (await fetch(`${daemon.url}/images/${id}`)).text(), await (await fetch(`${daemon.url}/health`)).text());
  const catalogue = await readdir(join(dataDir, 'catalog', 'images'), { recursive: true });
  const files = await Promise.all(catalogue.filter((f) => f.endsWith('.json')).map((f) => readFile(join(dataDir, 'catalog', 'images', f), 'utf8')));
  t.true(responses.some((r) => r.includes('check the store credentials')), 'the failure says what to check');
  for (const secret of ['Sup3rSecretValue', `"${swift.key}"`, `key=${swift.key}`]) {
    for (const [where, texts] of [['responses', responses], ['catalogue', files], ['logs', logLines]] as const) {
      t.false(texts.some((x) => x.includes(secret)), `${secret} in ${where}`);
    }
  }
});

test('visor copy and visor store gc from the command line', async (t) => {
  const id = await register();
  await upload(id, randomBytes(1000));
  const run = (args: string[]) => visorAt(daemon).run(['--json', ...args]);
  const copy = await run(['copy', id, '--to', 'hdfs']);
  t.is(copy.code, 0, copy.stderr);
  t.deepEqual((JSON.parse(copy.stdout) as { locations: Array<{ store: string }> }).locations.map((l) => l.store), ['fs', 'hdfs']);
  const gc = await run(['store', 'gc', '--dry-run', '--older-than', '0']);
  t.is(gc.code, 0, gc.stderr);
  t.deepEqual((JSON.parse(gc.stdout) as Array<{ store: string }>).map((r) => r.store).sort(), ['fs', 'hdfs', 's3', 'swift']);
  const bad = await run(['copy', id, '--to', 'nowhere']);
  t.not(bad.code, 0);
  t.regex(bad.stderr, /to/);
});

import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { request } from 'node:http';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { createImage, putFile, sha256, uploadFile } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { git } from './helpers/gitRepos.ts';

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon({ config: { uploads: { max_bytes: 4 * 1024 * 1024 } } });
});
test.after.always(async () => {
  await d?.stop();
});

const register = (body: Record<string, unknown> = {}) => createImage(d, d.token, { name: 'img', access: 'public', ...body });
const upload = (id: string, data: Uint8Array, query = '', headers: Record<string, string> = {}) => putFile(d, d.token, id, data, { query, headers });

async function record(id: string): Promise<Record<string, unknown>> {
  return (await (await fetch(`${d.url}/images/${id}`, authed(d.token))).json()) as Record<string, unknown>;
}

async function storeFiles(): Promise<string[]> {
  const root = join(d.dataDir, 'images');
  const out: string[] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) if (entry.isFile()) out.push(join(entry.parentPath, entry.name));
  return out.filter((f) => !f.includes('.health-'));
}

test('an upload makes the image available with its size and sha256 multihash, and the download returns the same bytes', async (t) => {
  const data = randomBytes(1024 * 1024 + 17);
  const id = await register();
  const res = await upload(id, data);
  t.is(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  t.is(body['status'], 'available');
  t.is(body['size'], data.length);
  t.is(body['checksum'], sha256(data));
  t.truthy(body['uploaded_at']);
  t.deepEqual(body['locations'], [{ store: 'fs', key: id }]);

  const dl = await fetch(`${d.url}/images/${id}/file`);
  t.is(dl.status, 200);
  t.is(dl.headers.get('content-length'), String(data.length));
  t.is(dl.headers.get('etag'), `"${sha256(data)}"`);
  t.is(dl.headers.get('repr-digest'), `sha-256=:${createHash('sha256').update(data).digest('base64')}:`);
  t.is(dl.headers.get('accept-ranges'), 'bytes');
  t.is(sha256(new Uint8Array(await dl.arrayBuffer())), sha256(data));
});

test('sha512 can be chosen per upload', async (t) => {
  const data = randomBytes(1000);
  const id = await register();
  const res = await upload(id, data, '?algorithm=sha512');
  t.is(((await res.json()) as { checksum: string }).checksum, `sha512:${createHash('sha512').update(data).digest('hex')}`);
  const dl = await fetch(`${d.url}/images/${id}/file`, { method: 'HEAD' });
  t.regex(dl.headers.get('repr-digest') ?? '', /^sha-512=:/);
});

test('an empty file is a valid image', async (t) => {
  const id = await register();
  const res = await upload(id, Buffer.alloc(0));
  t.is(res.status, 200);
  t.is(((await res.json()) as { size: number }).size, 0);
  const dl = await fetch(`${d.url}/images/${id}/file`);
  t.is(dl.status, 200);
  t.is((await dl.arrayBuffer()).byteLength, 0);
});

test('single ranges answer 206 with Content-Range; unsatisfiable ones 416; several ranges the whole file', async (t) => {
  const data = randomBytes(10_000);
  const id = await register();
  await upload(id, data);
  const cases: Array<[string, number, number]> = [
    ['bytes=0-99', 0, 99],
    ['bytes=9990-', 9990, 9999],
    ['bytes=-10', 9990, 9999],
    ['bytes=5000-20000', 5000, 9999],
  ];
  for (const [range, start, end] of cases) {
    const res = await fetch(`${d.url}/images/${id}/file`, { headers: { range } });
    t.is(res.status, 206, range);
    t.is(res.headers.get('content-range'), `bytes ${start}-${end}/10000`, range);
    t.deepEqual(Buffer.from(await res.arrayBuffer()), data.subarray(start, end + 1), range);
  }
  const unsatisfiable = await fetch(`${d.url}/images/${id}/file`, { headers: { range: 'bytes=10000-' } });
  t.is(unsatisfiable.status, 416);
  t.is(unsatisfiable.headers.get('content-range'), 'bytes */10000');
  const multi = await fetch(`${d.url}/images/${id}/file`, { headers: { range: 'bytes=0-1,5-6' } });
  t.is(multi.status, 200);
  t.is((await multi.arrayBuffer()).byteLength, 10_000);
  const staleIfRange = await fetch(`${d.url}/images/${id}/file`, { headers: { range: 'bytes=0-1', 'if-range': '"sha256:0"' } });
  t.is(staleIfRange.status, 200, 'a Range with a stale If-Range gets the whole current file');
  await staleIfRange.arrayBuffer();
});

test('a checksum the client expects must match, or the image goes to error and nothing is published', async (t) => {
  const data = randomBytes(5000);
  const id = await register();
  const wrong = `sha256:${'0'.repeat(64)}`;
  const res = await upload(id, data, `?checksum=${wrong}`);
  t.is(res.status, 400);
  const { error } = (await res.json()) as { error: { problems: { field: string; rule: string }[] } };
  t.deepEqual([error.problems[0]?.field, error.problems[0]?.rule], ['checksum', 'match']);
  t.is((await record(id))['status'], 'error');
  t.false((await storeFiles()).some((f) => f.includes(id)), 'nothing half-written is visible');
  t.is((await fetch(`${d.url}/images/${id}/file`)).status, 409);

  const retry = await upload(id, data, `?checksum=${sha256(data)}`);
  t.is(retry.status, 200, 'an image in error accepts a new upload');
  t.is(((await retry.json()) as { status: string }).status, 'available');
});

test('malformed upload options are refused before anything changes', async (t) => {
  const id = await register();
  t.is((await upload(id, Buffer.from('x'), '?algorithm=md5')).status, 400);
  t.is((await upload(id, Buffer.from('x'), '?checksum=md5:abc')).status, 400);
  t.is((await record(id))['status'], 'locked');
});

test('an upload over the size limit answers 413; with Content-Length nothing changes, streamed it leaves error', async (t) => {
  const id = await register();
  const declared = await upload(id, randomBytes(5 * 1024 * 1024));
  t.is(declared.status, 413);
  t.is((await record(id))['status'], 'locked', 'refused from its Content-Length before any change');

  const chunks = async function* () {
    for (let i = 0; i < 6; i++) yield randomBytes(1024 * 1024);
  };
  const streamed = await fetch(`${d.url}/images/${id}/file`, authed(d.token, { method: 'PUT', body: ReadableStream.from(chunks()), duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit)).catch(() => undefined);
  if (streamed) t.is(streamed.status, 413);
  t.is((await record(id))['status'], 'error');
  t.false((await storeFiles()).some((f) => f.includes(id)));
});

test('an upload cut off by the client leaves the image in error with nothing published, and a retry works', async (t) => {
  const id = await register();
  const req = request(`${d.url}/images/${id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/octet-stream', 'content-length': String(1024 * 1024) } });
  req.on('error', () => undefined);
  req.write(randomBytes(300 * 1024));
  // Cut once the daemon is surely receiving (on a loaded machine it may take a while to start).
  t.is((await pollUntil(() => record(id), (r) => r['status'] === 'uploading', { within: 20_000 }))['status'], 'uploading');
  req.destroy();
  // The daemon notices the cut asynchronously: wait for the status to settle.
  t.is((await pollUntil(() => record(id), (r) => r['status'] === 'error', { within: 20_000 }))['status'], 'error');
  t.false((await storeFiles()).some((f) => f.includes(id)));
  const data = randomBytes(2048);
  t.is((await upload(id, data)).status, 200);
});

test('a second upload of an available image is refused with 409', async (t) => {
  const id = await register();
  await upload(id, Buffer.from('first'));
  const res = await upload(id, Buffer.from('second'));
  t.is(res.status, 409);
  t.is(((await res.json()) as { error: { code: string } }).error.code, 'conflict');
  const dl = await fetch(`${d.url}/images/${id}/file`);
  t.is(await dl.text(), 'first');
});

test('concurrent uploads of one image: one wins, the other gets 409', async (t) => {
  const id = await register();
  const bytes = [randomBytes(200_000), randomBytes(200_000)];
  const [a, b] = await Promise.all(bytes.map((data) => upload(id, data)));
  t.deepEqual([a!.status, b!.status].sort(), [200, 409]);
  const winner = a!.status === 200 ? bytes[0]! : bytes[1]!;
  const served = Buffer.from(await (await fetch(`${d.url}/images/${id}/file`)).arrayBuffer());
  t.true(served.equals(winner), "the winner's bytes are served, not a mix");
});

test('downloading a locked image answers 409; an unknown one 404', async (t) => {
  const id = await register();
  t.is((await fetch(`${d.url}/images/${id}/file`)).status, 409);
  t.is((await fetch(`${d.url}/images/00000000-0000-4000-8000-000000000000/file`)).status, 404);
});

test('deleting an image deletes its file from the store', async (t) => {
  const id = await register();
  await upload(id, Buffer.from('bytes'));
  t.true((await storeFiles()).some((f) => f.endsWith(id)));
  t.is((await fetch(`${d.url}/images/${id}`, authed(d.token, { method: 'DELETE' }))).status, 200);
  t.false((await storeFiles()).some((f) => f.endsWith(id)));
});

test('the latest of a series is its newest available image, at a fixed URL', async (t) => {
  const v1 = await register({ series: 'cirros', name: 'cirros-0.6.1' });
  await upload(v1, Buffer.from('v1'));
  const v2 = await register({ series: 'cirros', name: 'cirros-0.6.2' });
  await upload(v2, Buffer.from('v2'));
  await register({ series: 'cirros', name: 'cirros-0.6.3 (not uploaded yet)' });
  const latest = await fetch(`${d.url}/series/cirros/latest`);
  t.is(latest.status, 200);
  t.is(((await latest.json()) as { id: string }).id, v2);
  t.is(latest.headers.get('content-location'), `/images/${v2}`);
  const file = await fetch(`${d.url}/series/cirros/latest/file`);
  t.is(await file.text(), 'v2');
  t.is((await fetch(`${d.url}/series/nothing-here/latest`)).status, 404);
  t.is((await fetch(`${d.url}/series/Bad%20Name/latest`)).status, 400);
});

test('downloads are counted without a commit each, and the counts survive a restart', async (t) => {
  const own = await startTestDaemon();
  try {
    const id = await createImage(own, own.token, { name: 'counted', access: 'public' });
    await uploadFile(own, own.token, id, Buffer.from('data'));
    const commits = () => git(join(own.dataDir, 'catalog'), 'rev-list', '--count', 'HEAD').trim();
    const before = commits();
    for (let i = 0; i < 3; i++) await (await fetch(`${own.url}/images/${id}/file`)).arrayBuffer();
    await (await fetch(`${own.url}/images/${id}/file`, { headers: { range: 'bytes=2-3' } })).arrayBuffer();
    t.is(commits(), before, 'no commit per download');
    const seen = (await (await fetch(`${own.url}/images/${id}`)).json()) as { access_count: number; accessed_at: string };
    t.is(seen.access_count, 3, 'a range not from the first byte is part of a download already counted');
    t.truthy(seen.accessed_at);
    const again = await own.restart();
    const after = (await (await fetch(`${again.url}/images/${id}`)).json()) as { access_count: number; accessed_at: string };
    t.is(after.access_count, 3);
    t.is(after.accessed_at, seen.accessed_at);
    await again.stop();
  } finally {
    await own.stop().catch(() => undefined);
  }
});

import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call, type Answer } from './helpers/http.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { unique } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { imageDir, qemuImg, read } from './helpers/diskImages.ts';
import { checkedLookup, WebDownloads } from '../src/image-files/WebDownloads.ts';
import { WebDownloadPolicy, type WebDownloadSettings } from '../src/image-files/WebDownloadPolicy.ts';

// Glance v2's interoperable import through VISOR: stage + glance-direct, web-download (SSRF-hardened:
// schemes, ports, host lists, address ranges of every hop, redirects, the size cap), copy-image
// between VISOR's stores, and info/stores with more than one store. The real clients' import flows
// are driven in glance.clients.test.ts.

type Image = Record<string, unknown> & { id: string };
const CAP = 256 * 1024;
const served = randomBytes(40_000);
/** Answers to /slow held open until the test releases them. */
const held: Array<() => void> = [];
let d: TestDaemon;
let web: Server;
let port: number;
const keys = {} as Record<'owner' | 'grantee' | 'stranger', string>;

test.before(async () => {
  web = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/image.raw') res.writeHead(200, { 'content-length': served.length }).end(served);
    else if (url === '/big.raw') res.writeHead(200, { 'content-length': CAP + 1 }).end(Buffer.alloc(CAP + 1));
    else if (url === '/big-chunked.raw') res.writeHead(200).end(Buffer.alloc(CAP + 1));
    else if (url === '/to-private') res.writeHead(302, { location: `http://127.0.0.2:${port}/image.raw` }).end();
    else if (url === '/to-metadata') res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    else if (url === '/to-file') res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    else if (url === '/to-image') res.writeHead(301, { location: '/image.raw' }).end();
    else if (url === '/slow') {
      res.writeHead(200, { 'content-length': served.length }).write(served.subarray(0, 1000));
      held.push(() => res.end(served.subarray(1000)));
    }
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  port = (web.address() as AddressInfo).port;
  d = await startTestDaemon({
    config: {
      uploads: { max_bytes: CAP },
      stores: { fs: { type: 'fs' }, fs2: { type: 'fs' } },
      // The test server is on loopback: allowed by the operator's explicit setting, that one address only.
      web_download: { ports: [port, 80, 443], allowed_ranges: ['127.0.0.1/32'], denied_hosts: ['denied.example'] },
    },
  });
  for (const who of ['owner', 'grantee', 'stranger'] as const) keys[who] = await addUser(d, unique(who));
});
test.after.always(async () => {
  await d?.stop();
  web?.close();
});

async function os(key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return call(d, undefined, method, path, body, { ...(key ? { 'x-auth-token': key } : {}), ...headers });
}
async function glanceImage(key: string, fields: Record<string, unknown> = {}): Promise<Image> {
  const res = await os(key, 'POST', '/v2/images', { name: unique('imp'), disk_format: 'raw', container_format: 'bare', ...fields });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.json as Image;
}
const status = async (id: string) => ((await os(keys.owner, 'GET', `/v2/images/${id}`)).json as Image)['status'];
const webDownload = (key: string, id: string, uri: string) => os(key, 'POST', `/v2/images/${id}/import`, { method: { name: 'web-download', uri } });
const settled = (id: string) => pollUntil(() => status(id), (s) => s === 'active', { within: 15_000 }).catch(() => status(id));

// Serial: ava runs it before the others, whose downloads would otherwise count against the cap.
test.serial('web-download runs at most web_download.max_concurrent (4) at once daemon-wide: past it 429 with Retry-After, nothing started', async (t) => {
  const images = await Promise.all([1, 2, 3, 4, 5].map(() => glanceImage(keys.owner)));
  for (const image of images.slice(0, 4)) t.is((await webDownload(keys.owner, image.id, `http://127.0.0.1:${port}/slow`)).status, 202);
  await pollUntil(() => held.length, (n) => n === 4, { within: 10_000 });
  const busy = await webDownload(keys.owner, images[4]!.id, `http://127.0.0.1:${port}/image.raw`);
  t.is(busy.status, 429, busy.text);
  t.truthy(busy.headers.get('retry-after'));
  t.is(await status(images[4]!.id), 'queued');
  for (const release of held.splice(0)) release();
  for (const image of images.slice(0, 4)) t.is(await settled(image.id), 'active');
  t.is((await webDownload(keys.owner, images[4]!.id, `http://127.0.0.1:${port}/image.raw`)).status, 202, 'room again once they ended');
  t.is(await settled(images[4]!.id), 'active');
});

test('info: the import methods built (copy-image with two stores), the create header, and the stores', async (t) => {
  const info = await os(keys.owner, 'GET', '/v2/info/import');
  t.deepEqual((info.json as { 'import-methods': { value: string[] } })['import-methods'].value, ['glance-direct', 'web-download', 'copy-image']);
  const created = await os(keys.owner, 'POST', '/v2/images', { name: unique('h'), disk_format: 'raw', container_format: 'bare' });
  t.is(created.headers.get('openstack-image-import-methods'), 'glance-direct,web-download,copy-image');
  t.deepEqual((await os(keys.owner, 'GET', '/v2/info/stores')).json, {
    stores: [
      { id: 'fs', description: 'VISOR store fs (fs)', default: 'true' },
      { id: 'fs2', description: 'VISOR store fs2 (fs)' },
    ],
  });
  t.is((await os(undefined, 'GET', '/v2/info/stores')).status, 401, 'store names are for signed-in callers, as VISOR’s /stores');
});

test('stage then glance-direct: uploading while staged (its bytes served to nobody), 202 with an empty untyped body, then active with the digests', async (t) => {
  const image = await glanceImage(keys.owner);
  const bytes = randomBytes(30_000);
  const staged = await os(keys.owner, 'PUT', `/v2/images/${image.id}/stage`, new Uint8Array(bytes));
  t.is(staged.status, 204, staged.text);
  t.is(await status(image.id), 'uploading');
  t.like((await call(d, keys.owner, 'GET', `/images/${image.id}`)).json, { status: 'locked', import_state: { method: 'glance-direct', state: 'staged' } });
  t.is((await os(keys.owner, 'GET', `/v2/images/${image.id}/file`)).status, 204, 'a staged file is not the image’s yet');
  t.is((await call(d, keys.owner, 'GET', `/images/${image.id}/file`)).status, 409);
  t.is((await os(keys.stranger, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'glance-direct' } })).status, 404);
  const imported = await os(keys.owner, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'glance-direct' } });
  t.is(imported.status, 202, imported.text);
  t.is(imported.text, '');
  t.is(imported.headers.get('content-type'), null, 'glanceclient parses a JSON-labelled empty body and fails');
  const shown = (await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json as Image;
  t.like(shown, { status: 'active', size: bytes.length, checksum: createHash('md5').update(bytes).digest('hex'), os_hash_algo: 'sha256', os_hash_value: createHash('sha256').update(bytes).digest('hex') });
  t.deepEqual((await os(keys.owner, 'GET', `/v2/images/${image.id}/file`)).bytes, bytes);
  t.false('import_state' in ((await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Image));
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'glance-direct' } })).status, 409, 'nothing staged any more');
});

test('staging is an upload: a hostile file is refused by inspection, nothing is staged, the image is queued again', async (t) => {
  const backed = `${imageDir()}/glance-stage-backed.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  const image = await glanceImage(keys.owner, { disk_format: 'qcow2' });
  const refused = await os(keys.owner, 'PUT', `/v2/images/${image.id}/stage`, new Uint8Array(read(backed)));
  t.is(refused.status, 400);
  t.regex(refused.text, /qcow2-backing-file/);
  t.is(await status(image.id), 'queued');
  t.like((await call(d, keys.owner, 'GET', `/images/${image.id}`)).json, { status: 'error', import_state: { state: 'failed' } });
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'glance-direct' } })).status, 409);
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/stage`, new Uint8Array(1000), { 'content-type': 'application/json' })).status, 415);
});

test('web-download from an allowed server: 202, then active with the served bytes, hashed and inspected as an upload; by name too (the lookup judged)', async (t) => {
  for (const host of ['127.0.0.1', 'localhost']) {
    const image = await glanceImage(keys.owner);
    const started = await webDownload(keys.owner, image.id, `http://${host}:${port}/image.raw`);
    t.is(started.status, 202, started.text);
    t.is(started.text, '');
    t.is(await settled(image.id), 'active');
    const shown = (await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json as Image;
    t.like(shown, { size: served.length, checksum: createHash('md5').update(served).digest('hex'), disk_format: 'raw' });
    t.is(typeof shown['virtual_size'], 'number', 'inspected');
    t.deepEqual((await os(keys.owner, 'GET', `/v2/images/${image.id}/file`)).bytes, served);
  }
  const redirected = await glanceImage(keys.owner);
  t.is((await webDownload(keys.owner, redirected.id, `http://127.0.0.1:${port}/to-image`)).status, 202);
  t.is(await settled(redirected.id), 'active', 'a redirect to an allowed URL is followed');
});

test('web-download refusals name the rule: scheme, port, host, address range (metadata, loopback beyond the allowed one, IPv4-mapped, IPv6)', async (t) => {
  const image = await glanceImage(keys.owner);
  const cases: Array<[string, string]> = [
    ['file:///etc/passwd', 'scheme'],
    ['ftp://127.0.0.1/x', 'scheme'],
    [`gopher://127.0.0.1:${port}/x`, 'scheme'],
    ['http://127.0.0.1:22/x', 'port'],
    [`http://denied.example:${port}/x`, 'host'],
    [`http://user:pw@127.0.0.1:${port}/image.raw`, 'host'],
    ['http://169.254.169.254/latest/meta-data/', 'address-range'],
    [`http://127.0.0.2:${port}/image.raw`, 'address-range'],
    [`http://[::ffff:127.0.0.2]:${port}/image.raw`, 'address-range'],
    [`http://[::ffff:a9fe:a9fe]/x`, 'address-range'],
    [`http://[::1]:${port}/image.raw`, 'address-range'],
    // Reserved ::/8 spellings outside the mapped and compatible forms (the review found them let through).
    [`http://[::ffff:ffff:7f00:1]:${port}/image.raw`, 'address-range'],
    [`http://[::ffff:1:7f00:1]:${port}/image.raw`, 'address-range'],
    ['http://[fd00:ec2::254]/latest', 'address-range'],
    ['http://10.0.0.1/x', 'address-range'],
    ['http://0.0.0.0/x', 'address-range'],
    ['http://2130706434/x', 'address-range'],
  ];
  for (const [uri, rule] of cases) {
    const refused = await webDownload(keys.owner, image.id, uri);
    t.is(refused.status, 400, `${uri}: ${refused.text}`);
    t.true(refused.text.includes(`web-download refused (${rule})`), `${uri}: ${refused.text}`);
  }
  t.is(await status(image.id), 'queued', 'a refused import starts nothing');
});

test('web-download: a redirect into a private range, or to another scheme, is refused at the hop; the image is queued again with the reason', async (t) => {
  for (const [path, rule] of [['/to-private', 'address-range'], ['/to-metadata', 'redirect'], ['/to-file', 'redirect']] as const) {
    const image = await glanceImage(keys.owner);
    t.is((await webDownload(keys.owner, image.id, `http://127.0.0.1:${port}${path}`)).status, 202);
    const failed = await pollUntil(async () => (await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Image, (r) => r['status'] === 'error', { within: 15_000 });
    const mark = failed['import_state'] as { state: string; reason: string };
    t.is(mark.state, 'failed');
    t.true(mark.reason.includes(`web-download refused (${rule})`), `${path}: ${mark.reason}`);
    t.is(await status(image.id), 'queued');
    t.like((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json, { size: null, checksum: null });
  }
});

test('web-download: a file over uploads.max_bytes is refused (declared or not), nothing kept', async (t) => {
  for (const path of ['/big.raw', '/big-chunked.raw']) {
    const image = await glanceImage(keys.owner);
    t.is((await webDownload(keys.owner, image.id, `http://127.0.0.1:${port}${path}`)).status, 202);
    const failed = await pollUntil(async () => (await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Image, (r) => r['status'] === 'error', { within: 15_000 });
    t.regex((failed['import_state'] as { reason: string }).reason, /size|limit/, path);
    t.is(failed['size'], undefined);
  }
});

test('who may import: the owner; a commit grantee may stage but not fetch from the web; strangers and anonymous see nothing', async (t) => {
  const image = await glanceImage(keys.owner);
  const granteeName = ((await call(d, keys.grantee, 'GET', '/whoami')).json as { name: string }).name;
  await grant(d, keys.owner, image.id, 'users', granteeName, 'commit');
  t.is((await webDownload(keys.grantee, image.id, `http://127.0.0.1:${port}/image.raw`)).status, 403);
  t.is((await webDownload(keys.stranger, image.id, `http://127.0.0.1:${port}/image.raw`)).status, 404);
  t.is((await webDownload(undefined as unknown as string, image.id, `http://127.0.0.1:${port}/image.raw`)).status, 401);
  t.is((await os(keys.stranger, 'PUT', `/v2/images/${image.id}/stage`, new Uint8Array(100))).status, 404);
  t.is((await os(keys.grantee, 'PUT', `/v2/images/${image.id}/stage`, new Uint8Array(100))).status, 204, 'staging is an upload, which a commit grantee may make');
  t.is((await os(undefined, 'PUT', `/v2/images/${image.id}/stage`, new Uint8Array(100))).status, 401);
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'nfs-import' } })).status, 400);
  t.is(await status(image.id), 'uploading');
});

test('copy-image copies an active image to the other store through the core copier; only the owner may', async (t) => {
  const image = await glanceImage(keys.owner);
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/file`, new Uint8Array(randomBytes(5000)))).status, 204);
  t.is((await os(keys.stranger, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'copy-image' }, stores: ['fs2'] })).status, 404);
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'copy-image' }, stores: ['nowhere'] })).status, 400);
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/import`, { method: { name: 'copy-image' }, stores: ['fs2'] })).status, 202);
  const copied = await pollUntil(async () => (await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Image, (r) => (r['locations'] as unknown[]).length === 2, { within: 15_000 });
  t.deepEqual((copied['locations'] as { store: string }[]).map((l) => l.store).sort(), ['fs', 'fs2']);
});

test('the policy judges each address a name resolves to, and the lookup hands the connection only an address it judged', async (t) => {
  const settings: WebDownloadSettings = { ports: [80], allowedHosts: [], deniedHosts: [], allowedRanges: [], timeoutMs: 1000, maxRedirects: 0, maxConcurrent: 1 };
  const policy = new WebDownloadPolicy(settings);
  for (const bad of ['169.254.169.254', 'fd00:ec2::254', '::ffff:169.254.169.254', '::ffff:10.1.2.3', '::ffff:a9fe:a9fe', '127.0.0.1', '::1', '0.0.0.0', '::', '224.0.0.1', 'ff02::1', 'fe80::1', '192.168.1.1', '172.16.0.1', '100.64.0.1', '64:ff9b::a00:1', '2002:a00:1::1']) {
    t.throws(() => policy.checkAddress(bad), { message: /address-range/ }, bad);
  }
  for (const good of ['93.184.216.34', '2606:4700::1111', '::ffff:93.184.216.34']) t.notThrows(() => policy.checkAddress(good), good);
  const lookup = checkedLookup(policy) as unknown as (h: string, o: { all?: boolean }, cb: (e: Error | null, a: unknown) => void) => void;
  const refused = await new Promise<Error | null>((resolve) => lookup('localhost', {}, (e) => resolve(e)));
  t.regex(refused?.message ?? '', /address-range.*loopback/);
  const allowed = checkedLookup(new WebDownloadPolicy({ ...settings, allowedRanges: ['127.0.0.0/8'] })) as unknown as typeof lookup;
  t.is(await new Promise<unknown>((resolve) => allowed('localhost', {}, (_e, a) => resolve(a))), '127.0.0.1');
});

test('a download by host name connects only where the lookup judged: localhost without an allowed loopback range is refused at connect', async (t) => {
  // The daemon's core with a policy of its own (no range allowed), so the name is judged where the socket resolves it.
  const policy = new WebDownloadPolicy({ ports: [port], allowedHosts: [], deniedHosts: [], allowedRanges: [], timeoutMs: 10_000, maxRedirects: 0, maxConcurrent: 1 });
  const downloads = new WebDownloads({ uploads: d.daemon.core.uploads, maxBytes: CAP, policy });
  const image = await glanceImage(keys.owner);
  const name = ((await call(d, keys.owner, 'GET', '/whoami')).json as { name: string }).name;
  const error = await t.throwsAsync(downloads.download(image.id, new URL(`http://localhost:${port}/image.raw`), { name, admin: false }, { method: 'web-download' }));
  t.regex(error.message, /web-download refused \(address-range\): host localhost resolves to an address that is loopback/);
  t.false(error.message.includes('127.0.0.1'), 'a resolved address is not read out (split-horizon DNS)');
  t.is(await status(image.id), 'queued');
});

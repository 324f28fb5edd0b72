import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call, type Answer } from './helpers/http.ts';
import { addUser, auditEntries, grant } from './helpers/accounts.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { imageDir, qemuImg, read } from './helpers/diskImages.ts';
import { GlanceImages } from '../src/glance/GlanceImages.ts';

// The Glance v2 edge over HTTP, as the OpenStack clients speak it (X-Auth-Token, Glance's media types
// and shapes): discovery, schemas, images, JSON Patch, tags, data with md5 and the multihash, errors in
// Glance's shape, and access exactly as on VISOR's own routes for owner, grantee, stranger and
// anonymous callers. The real clients are driven in glance.clients.test.ts.

type Image = Record<string, unknown> & { id: string };
let d: TestDaemon;
const keys = {} as Record<'owner' | 'grantee' | 'stranger', string>;
const granteeName = unique('gina');

test.before(async () => {
  d = await startTestDaemon();
  keys.owner = await addUser(d, unique('olga'));
  keys.grantee = await addUser(d, granteeName);
  keys.stranger = await addUser(d, unique('sam'));
});
test.after.always(async () => {
  await d?.stop();
});

/** A request as the OpenStack clients send it: the key in X-Auth-Token, a body object as JSON (or as `type`). */
async function os(key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  return call(d, undefined, method, path, body, { ...(key ? { 'x-auth-token': key } : {}), ...headers });
}
const patch = (key: string | undefined, id: string, ops: unknown, type = 'application/openstack-images-v2.1-json-patch') => os(key, 'PATCH', `/v2/images/${id}`, ops, { 'content-type': type });

async function glanceImage(key: string, fields: Record<string, unknown>): Promise<Image> {
  const res = await os(key, 'POST', '/v2/images', { disk_format: 'raw', container_format: 'bare', ...fields });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return res.json as Image;
}

test('version discovery: / answers 300 to JSON clients, /versions and /v2 200, with absolute v2 links', async (t) => {
  const root = await os(undefined, 'GET', '/', undefined, { accept: 'application/json' });
  t.is(root.status, 300);
  const versions = (root.json as { versions: { id: string; status: string; links: { href: string }[] }[] }).versions;
  t.true(versions.some((v) => v.id.startsWith('v2') && v.status === 'CURRENT'));
  t.is(versions[0]!.links[0]!.href, `${d.url}/v2/`);
  for (const path of ['/versions', '/v2']) {
    const res = await os(undefined, 'GET', path);
    t.is(res.status, 200, path);
    t.deepEqual(res.json, root.json);
  }
  // A browser is not an API client: it is not handed the versions document; nor is a client asking for anything (*/*).
  t.not((await os(undefined, 'GET', '/', undefined, { accept: 'text/html' })).status, 300);
  t.is((await os(undefined, 'GET', '/', undefined, { accept: '*/*' })).status, 404);
});

test('the four schemas: all visibilities, custom properties strings, no stores property', async (t) => {
  const image = (await os(undefined, 'GET', '/v2/schemas/image')).json as { properties: Record<string, { enum?: unknown[] }>; additionalProperties: unknown };
  t.deepEqual([...image.properties['visibility']!.enum!].sort(), ['community', 'private', 'public', 'shared']);
  t.deepEqual(image.additionalProperties, { type: 'string' });
  t.false('stores' in image.properties);
  for (const name of ['images', 'member', 'members']) t.is((await os(undefined, 'GET', `/v2/schemas/${name}`)).status, 200, name);
  const missing = await os(undefined, 'GET', '/v2/schemas/nothing');
  t.is(missing.status, 404);
  // Glance's error shape: every top-level value an object with a message (glanceclient reads them so).
  t.like(missing.json, { error: { code: 404, title: 'Not Found' } });
  t.is(typeof (missing.json as { error: { message: string } }).error.message, 'string');
});

test('create, show, update by either patch media type, delete: Glance defaults and names over the VISOR record', async (t) => {
  const created = await os(keys.owner, 'POST', '/v2/images', { name: unique('cirros'), disk_format: 'qcow2', container_format: 'bare', min_disk: 1, tags: ['a', 'b'], os_distro: 'cirros', 'owner_specified.openstack.md5': '' });
  t.is(created.status, 201, created.text);
  const image = created.json as Image;
  t.like(image, { status: 'queued', visibility: 'private', protected: false, os_hidden: false, min_ram: 0, min_disk: 1, checksum: null, os_hash_value: null, size: null, disk_format: 'qcow2', os_distro: 'cirros', self: `/v2/images/${image.id}` });
  t.regex(String(image['created_at']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.is(created.headers.get('location'), `${d.url}/v2/images/${image.id}`);
  t.true(created.headers.has('openstack-image-import-methods'));
  // The same image through VISOR's own route: one record, two views.
  const visor = (await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Record<string, unknown>;
  t.like(visor, { disk: 'qcow2', min_disk: 1, access: 'private', properties: { os_distro: 'cirros', 'owner_specified.openstack.md5': '' } });

  // OSC's patch: add for everything, existing or not.
  const osc = await patch(keys.owner, image.id, [
    { op: 'add', path: '/name', value: 'osc1b' },
    { op: 'add', path: '/min_ram', value: 256 },
    { op: 'add', path: '/protected', value: true },
    { op: 'add', path: '/hw_disk_bus', value: 'scsi' },
    { op: 'add', path: '/tags', value: ['t1', 't2'] },
    { op: 'add', path: '/visibility', value: 'public' },
  ]);
  t.is(osc.status, 200, osc.text);
  t.like(osc.json, { name: 'osc1b', min_ram: 256, protected: true, hw_disk_bus: 'scsi', tags: ['t1', 't2'], visibility: 'public' });
  // The legacy media type, and a change through VISOR's route showing through Glance's.
  t.is((await patch(keys.owner, image.id, [{ replace: '/name', value: 'legacy' }, { remove: '/hw_disk_bus' }], 'application/openstack-images-v2.0-json-patch')).status, 200);
  t.is((await call(d, keys.owner, 'PUT', `/images/${image.id}`, { description: 'from visor' })).status, 200);
  const shown = (await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json as Image;
  t.like(shown, { name: 'legacy', description: 'from visor' });
  t.false('hw_disk_bus' in shown);

  // Protected: deletion refused through both edges, until cleared.
  t.is((await os(keys.owner, 'DELETE', `/v2/images/${image.id}`)).status, 403);
  t.is((await call(d, keys.owner, 'DELETE', `/images/${image.id}`)).status, 403);
  t.is((await patch(keys.owner, image.id, [{ op: 'replace', path: '/protected', value: false }])).status, 200);
  const deleted = await os(keys.owner, 'DELETE', `/v2/images/${image.id}`);
  t.is(deleted.status, 204);
  t.is(deleted.headers.get('content-type'), null);
  t.is((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).status, 404);
});

test('show answers 404 for unknown and non-UUID ids (openstack image show NAME looks by id first)', async (t) => {
  t.is((await os(keys.owner, 'GET', '/v2/images/not-a-uuid')).status, 404);
  t.is((await os(keys.owner, 'GET', `/v2/images/${crypto.randomUUID()}`)).status, 404);
});

test('patch refusals: read-only 403, reserved 403, absent custom property 409, non-string custom 400, unknown media type 415', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('p') });
  const refusals: [unknown, number][] = [
    [[{ op: 'replace', path: '/status', value: 'active' }], 403],
    [[{ op: 'add', path: '/checksum', value: 'x' }], 403],
    [[{ op: 'add', path: '/os_glance_import_task', value: 'x' }], 403],
    [[{ op: 'add', path: '/owner', value: 'someone-else' }], 403],
    [[{ op: 'remove', path: '/nothing_here' }], 409],
    [[{ op: 'replace', path: '/nothing_here', value: 'x' }], 409],
    [[{ op: 'add', path: '/foo', value: 1 }], 400],
    [[{ op: 'add', path: '/visibility', value: 'everyone' }], 400],
    [[{ op: 'add', path: '/tags/0', value: 'x' }], 400],
    [[{ op: 'move', path: '/name', from: '/x' }], 400],
  ];
  for (const [ops, status] of refusals) {
    const res = await patch(keys.owner, image.id, ops);
    t.is(res.status, status, JSON.stringify(ops));
    t.is(typeof (res.json as { error: { message: unknown } }).error.message, 'string');
  }
  const wrongType = await os(keys.owner, 'PATCH', `/v2/images/${image.id}`, [{ op: 'add', path: '/name', value: 'x' }]);
  t.is(wrongType.status, 415);
  t.regex(wrongType.headers.get('accept-patch') ?? '', /openstack-images-v2\.1-json-patch/);
  t.is(((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json as Image).name, image.name, 'nothing changed');
});

test('upload chunked and download: 204, md5 from the upload pass and VISOR\'s checksum as the multihash, Content-MD5 in hex, Range', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('data') });
  const bytes = randomBytes(300_000);
  // Chunked, as glanceclient sends it: no Content-Length.
  const chunks = async function* () {
    for (let i = 0; i < bytes.length; i += 65536) yield bytes.subarray(i, i + 65536);
  };
  const wrongType = await os(keys.owner, 'PUT', `/v2/images/${image.id}/file`, new Uint8Array(bytes), { 'content-type': 'text/plain' });
  t.is(wrongType.status, 415);
  const noData = await os(keys.owner, 'GET', `/v2/images/${image.id}/file`);
  t.is(noData.status, 204);
  const put = await fetch(`${d.url}/v2/images/${image.id}/file`, { method: 'PUT', body: ReadableStream.from(chunks()), duplex: 'half', headers: { 'x-auth-token': keys.owner, 'content-type': 'application/octet-stream' } } as RequestInit);
  t.is(put.status, 204, await put.text());
  const md5 = createHash('md5').update(bytes).digest('hex');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const shown = (await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json as Image;
  t.like(shown, { status: 'active', size: bytes.length, checksum: md5, os_hash_algo: 'sha256', os_hash_value: sha256 });
  // VISOR's own checksum is unchanged (sha256 by default) and is the multihash; the md5 sits beside it in the record.
  const visor = (await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Record<string, unknown>;
  t.is(visor['checksum'], `sha256:${sha256}`);
  t.deepEqual(visor['digests'], { md5 });

  const got = await os(keys.owner, 'GET', `/v2/images/${image.id}/file`);
  t.is(got.status, 200);
  t.is(got.headers.get('content-type'), 'application/octet-stream');
  t.is(got.headers.get('content-md5'), md5);
  t.is(got.headers.get('content-length'), String(bytes.length));
  t.true(got.bytes.equals(bytes));
  const part = await os(keys.owner, 'GET', `/v2/images/${image.id}/file`, undefined, { range: 'bytes=100-199' });
  t.is(part.status, 206);
  t.is(part.headers.get('content-range'), `bytes 100-199/${bytes.length}`);
  t.true(part.bytes.equals(bytes.subarray(100, 200)));
  // A second upload of an active image is a conflict, as in Glance.
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/file`, new Uint8Array(10))).status, 409);
});

test('a file uploaded through VISOR’s own route has no md5 (its uploads skip it) but its checksum is the multihash glanceclient verifies', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('v') });
  const bytes = randomBytes(5000);
  await uploadFile(d, keys.owner, image.id, bytes);
  t.like((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json, { status: 'active', checksum: null, os_hash_algo: 'sha256', os_hash_value: createHash('sha256').update(bytes).digest('hex') });
  t.false('digests' in ((await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Record<string, unknown>));
  const got = await os(keys.owner, 'GET', `/v2/images/${image.id}/file`);
  t.true(got.bytes.equals(bytes));
  t.is(got.headers.get('content-md5'), null, 'no md5: the SDK skips its check');
});

test('a hostile image is refused through /v2 as through VISOR’s own route', async (t) => {
  qemuImg();
  const backed = `${imageDir()}/glance-backed.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  const bytes = read(backed);
  const viaGlance = await glanceImage(keys.owner, { name: unique('h'), disk_format: 'qcow2' });
  const refused = await os(keys.owner, 'PUT', `/v2/images/${viaGlance.id}/file`, new Uint8Array(bytes));
  t.is(refused.status, 400);
  t.regex(refused.text, /qcow2-backing-file/);
  t.like(refused.json, { error: { code: 400 } });
  const viaVisor = await glanceImage(keys.owner, { name: unique('h'), disk_format: 'qcow2' });
  const visorRefused = await call(d, keys.owner, 'PUT', `/images/${viaVisor.id}/file`, new Uint8Array(bytes));
  t.is(visorRefused.status, 400);
  t.regex(visorRefused.text, /qcow2-backing-file/);
  for (const id of [viaGlance.id, viaVisor.id]) t.like((await os(keys.owner, 'GET', `/v2/images/${id}`)).json, { status: 'killed', size: null, checksum: null });
});

test('tags: PUT adds (idempotent), DELETE removes, 404 when absent', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('t') });
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/tags/blue`)).status, 204);
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/tags/blue`)).status, 204);
  t.deepEqual(((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json as Image)['tags'], ['blue']);
  t.is((await os(keys.owner, 'DELETE', `/v2/images/${image.id}/tags/blue`)).status, 204);
  t.is((await os(keys.owner, 'DELETE', `/v2/images/${image.id}/tags/blue`)).status, 404);
});

test('list: limit and marker with root-relative next, filters, both sort syntaxes, os_hidden', async (t) => {
  const key = await addUser(d, unique('lister'));
  const prefix = unique('l');
  const made: Image[] = [];
  for (let i = 0; i < 5; i++) made.push(await glanceImage(key, { name: `${prefix}-${i}`, tags: i % 2 === 0 ? ['even'] : ['odd'], flavor: i < 2 ? 'small' : 'big', disk_format: i === 4 ? 'qcow2' : 'raw' }));
  const hidden = await glanceImage(key, { name: `${prefix}-hidden`, os_hidden: true });
  const names = (res: Answer) => (res.json as { images: Image[] }).images.map((i) => i.name);
  const mine = (query: string) => os(key, 'GET', `/v2/images?owner=${encodeURIComponent(String(made[0]!['owner']))}${query}`);

  // Paging by 2, name ascending, following next as glanceclient does (root-relative).
  const seen: unknown[] = [];
  let res = await mine('&limit=2&sort_key=name&sort_dir=asc');
  for (let pages = 0; pages < 5; pages++) {
    t.is(res.status, 200, res.text);
    seen.push(...names(res));
    const next = (res.json as { next?: string }).next;
    if (next === undefined) break;
    t.regex(next, /^\/v2\/images\?.*marker=/);
    res = await os(key, 'GET', next);
  }
  t.deepEqual(seen, made.map((i) => i.name));
  t.deepEqual(names(await mine('&sort=name:desc&limit=3')), [`${prefix}-4`, `${prefix}-3`, `${prefix}-2`]);
  // Several keys (sorted in full rather than walked in the index's order), with paging.
  const byFormat = await mine('&sort=disk_format:asc,name:desc&limit=3');
  t.deepEqual(names(byFormat), [`${prefix}-4`, `${prefix}-3`, `${prefix}-2`]);
  t.deepEqual(names(await os(key, 'GET', (byFormat.json as { next: string }).next)), [`${prefix}-1`, `${prefix}-0`]);
  t.deepEqual(names(await mine('&limit=0')), []);
  t.is((await mine('&sort=name:asc&sort_key=name')).status, 400);
  t.is((await mine('&sort_key=nope')).status, 400);
  t.is((await mine('&limit=-1')).status, 400);
  t.is((await mine(`&marker=${crypto.randomUUID()}`)).status, 400);
  t.deepEqual(names(await mine('&tag=even&sort=name:asc')), [`${prefix}-0`, `${prefix}-2`, `${prefix}-4`]);
  t.deepEqual(names(await mine('&flavor=small&sort=name:asc')), [`${prefix}-0`, `${prefix}-1`]);
  t.deepEqual(names(await mine('&disk_format=in:qcow2,vmdk')), [`${prefix}-4`]);
  t.deepEqual(names(await mine(`&created_at=gte:${encodeURIComponent(String(made[0]!['created_at']))}&sort=name:asc`)).length, 6 - 1);
  t.deepEqual(names(await mine(`&name=${prefix}-2`)), [`${prefix}-2`]);
  t.deepEqual(names(await mine(`&name=in:${prefix}-1,${prefix}-3&sort=name:asc`)), [`${prefix}-1`, `${prefix}-3`]);
  t.is(names(await mine('&status=queued')).length, 5);
  t.deepEqual(names(await mine('&status=in:active,killed')), []);
  t.deepEqual(names(await mine('&flavor=big&tag=even&sort=name:asc')), [`${prefix}-2`, `${prefix}-4`]);
  t.deepEqual(names(await mine('&os_hidden=true')), [hidden.name]);
  t.false(names(await mine('&limit=100')).includes(hidden.name));
});

test('access: owner, grantee, stranger and anonymous see and change through /v2 exactly what VISOR lets them', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('acc') });
  const bytes = randomBytes(1000);
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/file`, new Uint8Array(bytes))).status, 204);
  await grant(d, keys.owner, image.id, 'users', granteeName, 'checkout');
  const show = (key: string | undefined) => os(key, 'GET', `/v2/images/${image.id}`);
  const listed = async (key: string | undefined) => ((await os(key, 'GET', '/v2/images?limit=1000')).json as { images: Image[] }).images.some((i) => i.id === image.id);

  t.like((await show(keys.owner)).json, { visibility: 'shared' });
  t.is((await show(keys.grantee)).status, 200);
  t.true(await listed(keys.grantee));
  t.is((await os(keys.grantee, 'GET', `/v2/images/${image.id}/file`)).status, 200);
  // A checkout grant reads; it does not change, tag or delete.
  t.is((await patch(keys.grantee, image.id, [{ op: 'add', path: '/name', value: 'mine now' }])).status, 403);
  t.is((await os(keys.grantee, 'PUT', `/v2/images/${image.id}/tags/x`)).status, 403);
  t.is((await os(keys.grantee, 'DELETE', `/v2/images/${image.id}`)).status, 403);
  // A commit grantee changes metadata, but protecting (like publishing) is the owner's: through both edges.
  await grant(d, keys.owner, image.id, 'users', granteeName, 'commit');
  t.is((await patch(keys.grantee, image.id, [{ op: 'add', path: '/min_ram', value: 512 }])).status, 200);
  t.is((await patch(keys.grantee, image.id, [{ op: 'add', path: '/protected', value: true }])).status, 403);
  t.is((await call(d, keys.grantee, 'PUT', `/images/${image.id}`, { protected: true })).status, 403);
  t.is((await patch(keys.grantee, image.id, [{ op: 'add', path: '/visibility', value: 'public' }])).status, 403);
  await grant(d, keys.owner, image.id, 'users', granteeName, 'checkout');
  // A stranger and an anonymous caller: the private image does not exist for them.
  for (const key of [keys.stranger, undefined]) {
    t.is((await show(key)).status, 404);
    t.false(await listed(key));
    t.is((await os(key, 'GET', `/v2/images/${image.id}/file`)).status, 404);
  }
  t.is((await patch(keys.stranger, image.id, [{ op: 'add', path: '/name', value: 'x' }])).status, 404);
  t.is((await os(keys.stranger, 'DELETE', `/v2/images/${image.id}`)).status, 404);
  // Anonymous writes are 401; a bad token is 401, never anonymous.
  t.is((await os(undefined, 'POST', '/v2/images', { name: 'x' })).status, 401);
  t.is((await os(undefined, 'DELETE', `/v2/images/${image.id}`)).status, 401);
  t.is((await os('visor_bogus_key', 'GET', '/v2/images')).status, 401);
  // A refused X-Auth-Token is audited like a refused Authorization header: denied, naming the key id it claimed.
  const claimed = 'visor_00000000deadbeef_0123456789abcdef0123456789abcdef0123456789a';
  t.is((await os(claimed, 'GET', `/v2/images/${image.id}`)).status, 401);
  const entry = (await auditEntries(d)).find((e) => e.key === '00000000deadbeef');
  t.like(entry, { outcome: 'denied', reason: 'unknown or revoked API key' });
  // Made public: everyone reads it, anonymous included, and still only the owner changes it.
  t.is((await patch(keys.owner, image.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).status, 200);
  t.is((await show(undefined)).status, 200);
  t.true(await listed(undefined));
  t.is((await os(undefined, 'GET', `/v2/images/${image.id}/file`)).status, 200);
  t.is((await patch(keys.stranger, image.id, [{ op: 'add', path: '/name', value: 'x' }])).status, 403);
});

test('deactivate and reactivate: admins only; the file is then served to admins alone, through both edges', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('deact') });
  t.is((await os(d.token, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status, 409, 'a queued image has nothing to deactivate');
  t.is((await os(keys.owner, 'PUT', `/v2/images/${image.id}/file`, new Uint8Array(randomBytes(2000)))).status, 204);
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status, 403, 'the owner is no admin');
  t.is((await os(keys.stranger, 'POST', `/v2/images/${image.id}/actions/deactivate`)).status, 404);
  const done = await os(d.token, 'POST', `/v2/images/${image.id}/actions/deactivate`);
  t.is(done.status, 204);
  t.is(done.text, '');
  t.like((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json, { status: 'deactivated' });
  t.like((await call(d, keys.owner, 'GET', `/images/${image.id}`)).json, { status: 'available', deactivated: { by: 'admin' } });
  t.is((await os(keys.owner, 'GET', `/v2/images/${image.id}/file`)).status, 403);
  t.is((await call(d, keys.owner, 'GET', `/images/${image.id}/file`)).status, 403);
  t.is((await os(d.token, 'GET', `/v2/images/${image.id}/file`)).status, 200);
  t.is((await os(keys.owner, 'POST', `/v2/images/${image.id}/actions/reactivate`)).status, 403);
  t.is((await os(d.token, 'POST', `/v2/images/${image.id}/actions/reactivate`)).status, 204);
  t.like((await os(keys.owner, 'GET', `/v2/images/${image.id}`)).json, { status: 'active' });
  t.is((await os(keys.owner, 'GET', `/v2/images/${image.id}/file`)).status, 200);
});

test('a deactivated image is no series latest for non-admins: latest and latest/file lead to the newest active version', async (t) => {
  const series = unique('deact-series');
  const older = await createImage(d, keys.owner, { name: unique('old'), series, access: 'public' });
  await uploadFile(d, keys.owner, older, new Uint8Array(randomBytes(1000)));
  const newer = await createImage(d, keys.owner, { name: unique('new'), series, access: 'public' });
  await uploadFile(d, keys.owner, newer, new Uint8Array(randomBytes(1000)));
  t.is(((await call(d, keys.owner, 'GET', `/series/${series}/latest`)).json as Image).id, newer);
  t.is((await os(d.token, 'POST', `/v2/images/${newer}/actions/deactivate`)).status, 204);
  for (const key of [keys.owner, keys.stranger, undefined]) {
    t.is(((await call(d, key, 'GET', `/series/${series}/latest`)).json as Image).id, older);
    const to = (await call(d, key, 'GET', `/series/${series}/latest/file`)).headers.get('location');
    t.is(to, `/images/${older}/file`);
    t.is((await call(d, key, 'GET', to!)).status, 200, 'the file it leads to is served, not a 403');
  }
  t.is(((await call(d, d.token, 'GET', `/series/${series}/latest`)).json as Image).id, newer, 'admins, who may download it, still get it');
});

test('members are VISOR grants: the owner adds a group (a project) or user, who then sees the image as shared; only accepted', async (t) => {
  const image = await glanceImage(keys.owner, { name: unique('m') });
  const group = unique('proj');
  const memberKey = await addUser(d, unique('mel'));
  const memberName = ((await call(d, memberKey, 'GET', '/whoami')).json as { name: string }).name;
  t.is((await call(d, d.token, 'POST', '/groups', { name: group })).status, 201);
  t.is((await call(d, d.token, 'PUT', `/groups/${group}/members/${memberName}`)).status, 200);
  const members = `/v2/images/${image.id}/members`;

  t.is((await os(memberKey, 'GET', `/v2/images/${image.id}`)).status, 404);
  t.is((await os(keys.stranger, 'POST', members, { member: group })).status, 404, 'a stranger does not see the image');
  t.is((await os(keys.owner, 'POST', members, { member: 'no-such-project' })).status, 400);
  const added = await os(keys.owner, 'POST', members, { member: group });
  t.is(added.status, 200, added.text);
  t.like(added.json, { image_id: image.id, member_id: group, status: 'accepted', schema: '/v2/schemas/member' });
  t.is((await os(keys.owner, 'POST', members, { member: group })).status, 409);
  // The same share through VISOR's own grants, and through Glance's view.
  t.like((await call(d, keys.owner, 'GET', `/images/${image.id}/grants`)).json, { groups: { [group]: 'checkout' } });
  t.like((await os(memberKey, 'GET', `/v2/images/${image.id}`)).json, { visibility: 'shared' });
  t.deepEqual(((await os(keys.owner, 'GET', members)).json as { members: { member_id: string }[] }).members.map((m) => m.member_id), [group]);
  t.is((await os(keys.owner, 'GET', `${members}/${group}`)).status, 200);
  // The member accepts (a no-op: shares need no acceptance); rejecting is refused; the owner may not answer for it.
  t.is((await os(memberKey, 'PUT', `${members}/${group}`, { status: 'accepted', member: group })).status, 200);
  t.is((await os(memberKey, 'PUT', `${members}/${group}`, { status: 'rejected' })).status, 409);
  t.is((await os(keys.owner, 'PUT', `${members}/${group}`, { status: 'accepted' })).status, 403);
  t.is((await os(memberKey, 'DELETE', `${members}/${group}`)).status, 403, 'only the owner removes members');
  t.is((await os(keys.owner, 'DELETE', `${members}/${group}`)).status, 204);
  t.is((await os(memberKey, 'GET', `/v2/images/${image.id}`)).status, 404);
  t.is((await os(keys.owner, 'GET', `${members}/${group}`)).status, 404);
  // Public images have no members; the project look-up OSC makes answers for groups and users, to signed-in callers.
  t.is((await patch(keys.owner, image.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).status, 200);
  t.is((await os(keys.owner, 'POST', members, { member: group })).status, 403);
  t.like((await os(keys.owner, 'GET', `/v2/projects/${group}`)).json, { project: { id: group, name: group, enabled: true } });
  t.is((await os(keys.owner, 'GET', '/v2/projects/no-such-project')).status, 404);
  t.is((await os(undefined, 'GET', `/v2/projects/${group}`)).status, 401);
});

test('info/import lists glance-direct and web-download (copy-image needs a second store), as the create header does; info/stores is 404 with one store', async (t) => {
  t.deepEqual(((await os(keys.owner, 'GET', '/v2/info/import')).json as { 'import-methods': { value: unknown[] } })['import-methods'].value, ['glance-direct', 'web-download']);
  const created = await os(keys.owner, 'POST', '/v2/images', { name: unique('hdr'), disk_format: 'raw', container_format: 'bare' });
  t.is(created.headers.get('openstack-image-import-methods'), 'glance-direct,web-download');
  t.is((await os(keys.owner, 'GET', '/v2/info/stores')).status, 404, 'glanceclient then says multi-store is not enabled');
});

test('sorting on several keys sorts in full, so it is refused over a cap of visible images (one key walks the index at any size)', async (t) => {
  // The cap is 10,000 in the daemon; here 3, over a core of a real daemon, for the anonymous caller.
  const glance = new GlanceImages(d.daemon.core.images, { fullSortMax: 3 });
  const owner = await addUser(d, unique('pub'));
  for (let i = 0; i < 4; i++) await glanceImage(owner, { name: unique('pub'), visibility: 'public' });
  const error = t.throws(() => glance.list(new URLSearchParams('sort=disk_format:asc,name:asc'), undefined));
  t.regex(error.message, /sort by one key/);
  t.is(glance.list(new URLSearchParams('sort=name:asc,id:asc&limit=2'), undefined).images.length, 2);
  t.is(glance.list(new URLSearchParams('sort_key=size&sort_dir=desc&limit=2'), undefined).images.length, 2);
});

test('community visibility: a public image anyone may use, listed by default only to its owner and to whoever asks for community images', async (t) => {
  const name = unique('community');
  const image = await glanceImage(keys.owner, { name, visibility: 'community' });
  t.is(image['visibility'], 'community');
  // In VISOR it is a public image: shown and served to anyone.
  t.like((await call(d, undefined, 'GET', `/images/${image.id}`)).json, { access: 'public', community: true });
  t.is((await os(undefined, 'GET', `/v2/images/${image.id}`)).status, 200);
  const listed = async (key: string | undefined, query = '') => ((await os(key, 'GET', `/v2/images?name=${name}${query}`)).json as { images: Image[] }).images.map((i) => i.id);
  t.deepEqual(await listed(keys.stranger), [], 'not in a stranger\'s default list');
  t.deepEqual(await listed(undefined), [], 'nor an anonymous one');
  t.deepEqual(await listed(keys.stranger, '&visibility=community'), [image.id], 'listed when asked for');
  t.deepEqual(await listed(keys.owner), [image.id], "in its owner's default list");
  t.deepEqual(await listed(keys.stranger, '&visibility=public'), [], 'not a public image to Glance');
  // Made public, then private: the flag goes with the visibility.
  t.is((await patch(keys.owner, image.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).status, 200);
  t.deepEqual(await listed(keys.stranger), [image.id]);
  t.false('community' in ((await call(d, keys.owner, 'GET', `/images/${image.id}`)).json as Record<string, unknown>));
  t.like((await patch(keys.owner, image.id, [{ op: 'replace', path: '/visibility', value: 'community' }])).json, { visibility: 'community' });
  t.is((await patch(keys.stranger, image.id, [{ op: 'replace', path: '/visibility', value: 'public' }])).status, 403, 'only its owner changes it');
});

import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { jsonRequest, authed } from './helpers/http.ts';
import { registerImage } from './helpers/images.ts';
import { git as gitAt } from './helpers/gitRepos.ts';

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon({ config: { server: { max_json_bytes: 4096 } } });
});
test.after.always(async () => {
  await d?.stop();
});

const create = (body: Record<string, unknown>) => registerImage(d, d.token, body);

function git(...args: string[]): string {
  return gitIn('catalog', ...args);
}

function gitIn(repo: 'catalog' | 'private-catalog', ...args: string[]): string {
  return gitAt(join(d.dataDir, repo), ...args);
}

/** Messages of the commits that touched an image's file, newest first. Concurrent writes share a
 * commit, whose body then lists each write's message. */
function messagesFor(id: string): string {
  return git('log', '--format=%an|%B', '--', `images/${id.slice(0, 2)}/${id}.json`);
}

test('registering an image answers 201 with the record, a Location and server-set fields', async (t) => {
  const res = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'debian-12', architecture: 'x86_64', disk: 'qcow2', access: 'public' }));
  t.is(res.status, 201);
  const body = (await res.json()) as Record<string, unknown>;
  t.regex(String(body['id']), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  t.is(res.headers.get('location'), `/images/${String(body['id'])}`);
  t.is(body['status'], 'locked');
  t.is(body['owner'], 'admin');
  t.is(body['uri'], `${d.url}/images/${String(body['id'])}`);
  t.is(body['access_count'], 0);
  t.truthy(res.headers.get('etag'));
});

test('a registered public image is one JSON file in its shard of the shared catalogue, committed with who did what', async (t) => {
  const img = await create({ name: 'alpine', architecture: 'aarch64', access: 'public' });
  const id = String(img['id']);
  const file = JSON.parse(await readFile(join(d.dataDir, 'catalog', 'images', id.slice(0, 2), `${id}.json`), 'utf8')) as Record<string, unknown>;
  t.is(file['name'], 'alpine');
  t.false('uri' in file, 'per-instance fields never enter the catalogue');
  t.false('access_count' in file);
  const log = messagesFor(id);
  t.true(log.startsWith('admin|'));
  t.true(log.includes(`Register image ${id} "alpine"`));
  const path = `images/${id.slice(0, 2)}/${id}.json`;
  t.is(git('hash-object', path).trim(), git('rev-parse', `HEAD:${path}`).trim(), 'the working tree matches the commit');
});

test('new images are private unless the publisher says public', async (t) => {
  const img = await create({ name: 'secret' });
  t.is(img['access'], 'private');
  t.is((await fetch(`${d.url}/images/${String(img['id'])}`)).status, 404, 'anonymous callers cannot tell it exists');
  t.is((await fetch(`${d.url}/images/${String(img['id'])}`, authed(d.token))).status, 200);
  const anonymous = (await (await fetch(`${d.url}/images?limit=1000`)).json()) as { images: { id: string }[] };
  t.false(anonymous.images.some((i) => i.id === img['id']));
});

test('private images are committed to the private catalogue and never enter the shared one', async (t) => {
  const img = await create({ name: 'internal-build' });
  const id = String(img['id']);
  const file = `images/${id.slice(0, 2)}/${id}.json`;
  t.is(gitIn('private-catalog', 'ls-tree', '--name-only', 'HEAD', file).trim(), file);
  t.is(git('log', '--all', '--format=%H', '--', file).trim(), '', 'no commit of the shared catalogue ever held it');
});

test('changing access moves the record between the catalogues, with a commit in each', async (t) => {
  const img = await create({ name: 'going-public' });
  const id = String(img['id']);
  const file = `images/${id.slice(0, 2)}/${id}.json`;
  const res = await fetch(`${d.url}/images/${id}`, jsonRequest(d.token, 'PUT', { access: 'public' }));
  t.is(res.status, 200);
  t.is(git('ls-tree', '--name-only', 'HEAD', file).trim(), file);
  t.is(gitIn('private-catalog', 'ls-tree', '--name-only', 'HEAD', file).trim(), '');
  t.regex(gitIn('private-catalog', 'log', '-1', '--format=%B', '--', file), /moved to the shared catalogue/);
  t.is((await fetch(`${d.url}/images/${id}`)).status, 200, 'now visible to anonymous callers');
});

test('read-only fields cannot be set by a client', async (t) => {
  for (const field of ['id', 'status', 'size', 'checksum', 'owner', 'created_at', 'uploaded_at', 'access_count', 'uri', 'locations']) {
    const res = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'x', [field]: field === 'size' || field === 'access_count' ? 1 : 'x' }));
    t.is(res.status, 400, field);
    const body = (await res.json()) as { error: { problems: { field: string; rule: string }[] } };
    t.deepEqual(body.error.problems[0], { field, rule: 'readOnly', expected: 'no value: the server sets this field', message: `${field} is read-only` });
  }
});

test('schema violations name the field, the rule and what was expected, and change nothing', async (t) => {
  const before = git('rev-parse', 'HEAD');
  const res = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'x', disk: 'floppy', architecture: 'sparc', min_ram: -1, tags: ['a', 'a'], colour: 'blue', properties: { 'bad key': 'v' } }));
  t.is(res.status, 400);
  const { error } = (await res.json()) as { error: { code: string; problems: { field: string; rule: string; expected: string }[] } };
  t.is(error.code, 'invalid');
  const byField = Object.fromEntries(error.problems.map((p) => [p.field, p]));
  t.is(byField['disk']?.rule, 'enum');
  t.regex(byField['disk']?.expected ?? '', /"qcow2"/);
  t.is(byField['architecture']?.rule, 'enum');
  t.is(byField['min_ram']?.rule, 'minimum');
  t.is(byField['tags']?.rule, 'uniqueItems');
  t.is(byField['colour']?.rule, 'additionalProperties');
  t.is(byField['properties.bad key']?.rule, 'propertyNames');
  t.is(git('rev-parse', 'HEAD'), before, 'no commit was made');
});

test('a missing name is reported as required', async (t) => {
  const res = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { architecture: 'x86_64' }));
  t.is(res.status, 400);
  const { error } = (await res.json()) as { error: { problems: { field: string; rule: string }[] } };
  t.deepEqual(error.problems.map((p) => [p.field, p.rule]), [['name', 'required']]);
});

test('malformed JSON, non-JSON bodies and bodies over the limit are refused', async (t) => {
  const bad = await fetch(`${d.url}/images`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${d.token}` }, body: '{"name": ' });
  t.is(bad.status, 400);
  const notJson = await fetch(`${d.url}/images`, { method: 'POST', headers: { 'content-type': 'text/plain', authorization: `Bearer ${d.token}` }, body: 'name=x' });
  t.is(notJson.status, 400);
  t.is(((await notJson.json()) as { error: { problems: { field: string }[] } }).error.problems[0]?.field, 'Content-Type');
  const array = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', [1, 2]));
  t.is(array.status, 400);
  const huge = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'x', description: 'y'.repeat(10_000) }));
  t.is(huge.status, 413);
  t.is(((await huge.json()) as { error: { code: string } }).error.code, 'too_large');
});

test('writes need the bearer token: missing or wrong tokens get 401 and change nothing', async (t) => {
  const before = git('rev-parse', 'HEAD');
  const none = await fetch(`${d.url}/images`, jsonRequest(undefined, 'POST', { name: 'x' }));
  t.is(none.status, 401);
  t.is(none.headers.get('www-authenticate'), 'Bearer realm="visor"');
  t.is((await fetch(`${d.url}/images`, jsonRequest('wrong', 'POST', { name: 'x' }))).status, 401);
  const img = await create({ name: 'keep', access: 'public' });
  t.is((await fetch(`${d.url}/images/${String(img['id'])}`, { method: 'DELETE' })).status, 401);
  t.is((await fetch(`${d.url}/images/${String(img['id'])}`, jsonRequest(undefined, 'PUT', { name: 'y' }))).status, 401);
  t.is((await fetch(`${d.url}/images/${String(img['id'])}/file`, { method: 'PUT', body: 'abc' })).status, 401);
  t.is((await fetch(`${d.url}/images/${String(img['id'])}`)).status, 200, 'the image is still there');
  t.not(git('rev-parse', 'HEAD'), before);
  t.is(git('log', '--format=%H', '--', `images/${String(img['id']).slice(0, 2)}/${String(img['id'])}.json`).trim().split('\n').length, 1, 'the only commit is the authorised one');
});

test('ids in paths are validated: nothing reaches outside the catalogue', async (t) => {
  for (const id of ['..%2F..%2Fetc%2Fpasswd', 'not-a-uuid', '5A8F73D8-5747-4B4D-8ACA-FD2F835C067B', '%2e%2e']) {
    const res = await fetch(`${d.url}/images/${id}`, authed(d.token));
    t.true(res.status === 400 || res.status === 404, `${id}: ${res.status}`);
    if (res.status === 400) t.is(((await res.json()) as { error: { problems: { field: string }[] } }).error.problems[0]?.field, 'id');
  }
  t.is((await fetch(`${d.url}/images/00000000-0000-4000-8000-000000000000`, authed(d.token))).status, 404);
});

test('updates change read-write fields, remove fields set to null, and are commits', async (t) => {
  const img = await create({ name: 'ubuntu', tags: ['lts'], description: 'old', access: 'public' });
  const id = String(img['id']);
  const res = await fetch(`${d.url}/images/${id}`, jsonRequest(d.token, 'PUT', { name: 'ubuntu-24.04', description: null, min_ram: 512 }));
  t.is(res.status, 200);
  const body = (await res.json()) as Record<string, unknown>;
  t.is(body['name'], 'ubuntu-24.04');
  t.false('description' in body);
  t.is(body['min_ram'], 512);
  t.deepEqual(body['tags'], ['lts']);
  t.not(body['updated_at'], img['updated_at']);
  t.true(messagesFor(id).includes(`Update image ${id}: name, description, min_ram`));
});

test('a record fetched and sent back unchanged is accepted (read-only values equal to the stored ones)', async (t) => {
  const img = await create({ name: 'roundtrip' });
  const id = String(img['id']);
  const current = (await (await fetch(`${d.url}/images/${id}`, authed(d.token))).json()) as Record<string, unknown>;
  const res = await fetch(`${d.url}/images/${id}`, jsonRequest(d.token, 'PUT', { ...current, name: 'roundtrip-2' }));
  t.is(res.status, 200);
  const changed = await fetch(`${d.url}/images/${id}`, jsonRequest(d.token, 'PUT', { ...current, status: 'available' }));
  t.is(changed.status, 400);
});

test('If-Match guards against lost updates', async (t) => {
  const img = await create({ name: 'etag' });
  const id = String(img['id']);
  const first = await fetch(`${d.url}/images/${id}`, authed(d.token));
  const etag = first.headers.get('etag')!;
  t.is((await fetch(`${d.url}/images/${id}`, { headers: { 'if-none-match': etag, authorization: `Bearer ${d.token}` } })).status, 304);
  const ok = await fetch(`${d.url}/images/${id}`, { ...jsonRequest(d.token, 'PUT', { name: 'etag-1' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${d.token}`, 'if-match': etag } });
  t.is(ok.status, 200);
  const stale = await fetch(`${d.url}/images/${id}`, { ...jsonRequest(d.token, 'PUT', { name: 'etag-2' }), headers: { 'content-type': 'application/json', authorization: `Bearer ${d.token}`, 'if-match': etag } });
  t.is(stale.status, 412);
  t.is(((await (await fetch(`${d.url}/images/${id}`, authed(d.token))).json()) as { name: string }).name, 'etag-1');
});

test('HEAD answers with the headers of GET and no body', async (t) => {
  const img = await create({ name: 'head', access: 'public' });
  const res = await fetch(`${d.url}/images/${String(img['id'])}`, { method: 'HEAD' });
  t.is(res.status, 200);
  t.truthy(res.headers.get('etag'));
  t.is(await res.text(), '');
});

test('kernel and ramdisk must reference existing images of that type, which then cannot be deleted', async (t) => {
  const kernel = await create({ name: 'vmlinuz', type: 'kernel' });
  const plain = await create({ name: 'plain' });
  const wrongType = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'vm', kernel: plain['id'] }));
  t.is(wrongType.status, 400);
  t.is(((await wrongType.json()) as { error: { problems: { field: string; rule: string }[] } }).error.problems[0]?.rule, 'reference');
  const missing = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'vm', ramdisk: '00000000-0000-4000-8000-000000000000' }));
  t.is(missing.status, 400);
  const vm = await create({ name: 'vm', kernel: kernel['id'] });
  t.is(vm['kernel'], kernel['id']);
  const del = await fetch(`${d.url}/images/${String(kernel['id'])}`, authed(d.token, { method: 'DELETE' }));
  t.is(del.status, 409);
  const retype = await fetch(`${d.url}/images/${String(kernel['id'])}`, jsonRequest(d.token, 'PUT', { type: 'none' }));
  t.is(retype.status, 409);
});

test('deleting an image removes its file from the catalogue with a commit and answers the old record', async (t) => {
  const img = await create({ name: 'doomed', access: 'public' });
  const id = String(img['id']);
  const res = await fetch(`${d.url}/images/${id}`, authed(d.token, { method: 'DELETE' }));
  t.is(res.status, 200);
  t.is(((await res.json()) as { name: string }).name, 'doomed');
  t.is((await fetch(`${d.url}/images/${id}`, authed(d.token))).status, 404);
  t.true(messagesFor(id).includes(`Delete image ${id} "doomed"`));
  t.is(git('ls-tree', '--name-only', 'HEAD', `images/${id.slice(0, 2)}/${id}.json`).trim(), '');
  t.is((await fetch(`${d.url}/images/${id}`, authed(d.token, { method: 'DELETE' }))).status, 404);
});

test('an unknown store is refused when registering', async (t) => {
  const res = await fetch(`${d.url}/images`, jsonRequest(d.token, 'POST', { name: 'x', store: 's3' }));
  t.is(res.status, 400);
  const { error } = (await res.json()) as { error: { problems: { field: string; rule: string }[] } };
  t.deepEqual([error.problems[0]?.field, error.problems[0]?.rule], ['store', 'exists']);
});

test('health reports the catalogue and the store', async (t) => {
  await create({ name: 'counted' });
  // The admin's view: others get only the count of images they may see (test/access.matrix.test.ts).
  const res = await fetch(`${d.url}/health`, authed(d.token));
  t.is(res.status, 200);
  const body = (await res.json()) as { status: string; catalog: { head: string; images: number }; stores: Record<string, { ok: boolean; type: string }> };
  t.is(body.status, 'ok');
  t.regex(body.catalog.head, /^[0-9a-f]{40}$/);
  t.true(body.catalog.images > 0);
  t.deepEqual(body.stores['fs'], { type: 'fs', ok: true });
});

test('unknown routes answer 404 and wrong methods 405', async (t) => {
  t.is((await fetch(`${d.url}/nothing`)).status, 404);
  t.is((await fetch(`${d.url}/images/detail`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } })).status, 405);
  t.is((await fetch(`${d.url}/images/detail`, { method: 'DELETE', headers: { authorization: `Bearer ${d.token}` } })).status, 400, '"detail" is not an image id');
});

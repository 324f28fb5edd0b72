/**
 * The bugs that came from one idea kept in several places, each pinned where a user meets it: the
 * daemon writes only what its own hooks accept, downloads fail over on every path, every route is
 * audited by name, and every error has the one JSON shape.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { ROUTES, pathOf } from '../src/api/routes.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, sha256, storedFile, unique, uploadFile } from './helpers/images.ts';
import { addUser, auditEntriesOf } from './helpers/accounts.ts';
import { runVisor } from './helpers/cli.ts';

let d: TestDaemon;

test.before(async () => {
  d = await startTestDaemon({ config: { stores: { fs: { type: 'fs' }, fs2: { type: 'fs' } }, upstreams: { gone: { url: 'http://127.0.0.1:9/nothing.git', interval_seconds: 0 } } } });
});
test.after.always(() => d?.stop());

test('a second image of one name in one series is refused with the rule the hooks apply, and catalog validate still passes', async (t) => {
  const series = unique('cirros');
  const first = await call(d, d.token, 'POST', '/images', { name: 'cirros-0.6.2', series });
  t.is(first.status, 201);
  const second = await call(d, d.token, 'POST', '/images', { name: 'cirros-0.6.2', series });
  t.is(second.status, 400);
  const problems = (second.json as { error: { problems: Array<{ field: string; rule: string; message: string }> } }).error.problems;
  t.deepEqual(problems.map((p) => [p.field, p.rule]), [['name', 'unique-in-series']]);
  t.regex(problems[0]!.message, new RegExp(`image ${(first.json as { id: string }).id} of series ${series} is already named "cirros-0.6.2"`));
  // The same name in another series, or without one, is fine.
  t.is((await call(d, d.token, 'POST', '/images', { name: 'cirros-0.6.2', series: unique('other') })).status, 201);
  t.is((await call(d, d.token, 'POST', '/images', { name: 'cirros-0.6.2' })).status, 201);
  for (const dir of [d.daemon.config.catalog.path, d.daemon.config.catalog.privatePath]) {
    const validate = await runVisor(['catalog', 'validate', dir]);
    t.is(validate.code, 0, `${dir}: ${validate.stdout}${validate.stderr}`);
  }
});

test('creates racing for one name in one series: exactly one wins', async (t) => {
  const series = unique('race');
  const answers = await Promise.all(Array.from({ length: 6 }, () => call(d, d.token, 'POST', '/images', { name: 'n-1', series })));
  t.deepEqual(answers.map((a) => a.status).sort(), [201, 400, 400, 400, 400, 400]);
});

test("a series is a namespace per owner: a name another owner's hidden image holds is free to a stranger, and the owner's own rename onto a taken name is refused", async (t) => {
  const series = unique('rename');
  const mallory = await addUser(d, unique('mallory'));
  const taken = await createImage(d, d.token, { name: 'taken', series, access: 'private' });
  const mine = await createImage(d, mallory, { name: 'free', series, access: 'public' });
  t.is((await call(d, mallory, 'PUT', `/images/${mine}`, { name: 'taken' })).status, 200, 'nothing tells mallory that a hidden image is named so');
  const second = await createImage(d, d.token, { name: 'second', series, access: 'private' });
  const rename = await call(d, d.token, 'PUT', `/images/${second}`, { name: 'taken' });
  t.is(rename.status, 400);
  const problems = (rename.json as { error: { problems: Array<{ rule: string; message: string }> } }).error.problems;
  t.deepEqual(problems.map((p) => p.rule), ['unique-in-series']);
  t.is(problems[0]!.message, `image ${taken} of series ${series} is already named "taken"`);
});

test('a download fails over to the next location, whole or a range', async (t) => {
  const data = randomBytes(300_000);
  const id = await createImage(d, d.token, { name: unique('failover'), access: 'public' });
  const uploaded = await uploadFile(d, d.token, id, data);
  t.is((await call(d, d.token, 'POST', pathOf(ROUTES.copyImage, { id }), { to: 'fs2' })).status, 200);
  await rm(await storedFile(d.dataDir, uploaded as { locations: Array<{ key: string }> }));

  const whole = await call(d, undefined, 'GET', `/images/${id}/file`);
  t.is(whole.status, 200, whole.text);
  t.is(sha256(whole.bytes), sha256(data));
  const range = await call(d, undefined, 'GET', `/images/${id}/file`, undefined, { range: 'bytes=100-199' });
  t.is(range.status, 206);
  t.deepEqual(range.bytes, data.subarray(100, 200));
});

test('a download whose every location is gone is a 503 in the error shape, not a 404 of an object', async (t) => {
  const id = await createImage(d, d.token, { name: unique('lost'), access: 'public' });
  const uploaded = await uploadFile(d, d.token, id, randomBytes(1000));
  await rm(await storedFile(d.dataDir, uploaded as { locations: Array<{ key: string }> }));
  const res = await call(d, undefined, 'GET', `/images/${id}/file`);
  t.is(res.status, 503);
  t.is((res.json as { error: { code: string } }).error.code, 'unavailable');
});

test('every route of the route table is served, and the audit log names each by its action', async (t) => {
  const id = await createImage(d, d.token, { name: unique('routes') });
  const params = { id, name: 'nobody', user: 'nobody', path: 'images' };
  const requests: Array<[string, string]> = [];
  for (const [name, route] of Object.entries(ROUTES)) {
    const path = pathOf(route, params as never);
    // An anonymous request: every route answers it (refused or not), none with "no such route".
    const res = await call(d, undefined, route.method, path, route.method === 'POST' || route.method === 'PUT' ? {} : undefined);
    t.not(res.status, 405, `${name}: ${route.method} ${path}`);
    if (res.status === 404) t.notRegex(res.text, /route /, `${name}: ${route.method} ${path}`);
    requests.push([res.headers.get('x-request-id')!, route.action]);
  }
  const entries = await auditEntriesOf(d, requests.map(([r]) => r));
  for (const [request, action] of requests) t.is(entries.get(request)?.action, action);
  // The four that had no action before.
  t.deepEqual(['image.copy', 'image.link', 'store.list', 'store.gc'].filter((a) => !requests.some(([, action]) => action === a)), []);
});

test('an unknown route is a 404 and a method the path does not take a 405, both in the JSON error shape', async (t) => {
  const unknown = await call(d, undefined, 'GET', '/no/such/route');
  t.is(unknown.status, 404);
  t.regex(unknown.headers.get('content-type') ?? '', /application\/json/);
  t.is((unknown.json as { error: { code: string } }).error.code, 'not_found');

  const patch = await call(d, d.token, 'PATCH', '/images', {});
  t.is(patch.status, 405);
  t.regex(patch.headers.get('content-type') ?? '', /application\/json/);
  t.is((patch.json as { error: { code: string } }).error.code, 'method_not_allowed');
  t.regex(patch.headers.get('allow') ?? '', /GET/);
  t.regex(patch.headers.get('allow') ?? '', /POST/);

  const options = await call(d, undefined, 'OPTIONS', '/images');
  t.is(options.status, 204);
  t.regex(options.headers.get('allow') ?? '', /POST/);
});

test('a range outside the file is a 416 in the JSON error shape with the file length in Content-Range', async (t) => {
  const id = await createImage(d, d.token, { name: unique('range'), access: 'public' });
  await uploadFile(d, d.token, id, randomBytes(100));
  const res = await call(d, undefined, 'GET', `/images/${id}/file`, undefined, { range: 'bytes=500-' });
  t.is(res.status, 416);
  t.is(res.headers.get('content-range'), 'bytes */100');
  t.is((res.json as { error: { code: string } }).error.code, 'range_not_satisfiable');
});

test('a sync whose upstream fails is a 502 in the JSON error shape, with every upstream result in its details', async (t) => {
  const res = await call(d, d.token, 'POST', '/sync?upstream=gone');
  t.is(res.status, 502);
  const error = (res.json as { error: { code: string; message: string; details: { results: Array<{ upstream: string; mode: string }> } } }).error;
  t.is(error.code, 'upstream_failed');
  t.regex(error.message, /upstream gone failed/);
  t.deepEqual(error.details.results.map((r) => [r.upstream, r.mode]), [['gone', 'failed']]);
});

test('store gc and sync refuse non-admins in the core, with the same answer as every admin-only route', async (t) => {
  const user = await addUser(d, unique('plain'));
  for (const [method, path] of [['POST', '/stores/fs/gc'], ['POST', '/sync'], ['GET', '/report'], ['GET', '/users']] as const) {
    const res = await call(d, user, method, path, method === 'POST' ? {} : undefined);
    t.is(res.status, 403, `${method} ${path}`);
    t.regex((res.json as { error: { message: string } }).error.message, /^only admins may /, `${method} ${path}`);
    t.is((await call(d, undefined, method, path, method === 'POST' ? {} : undefined)).status, 401, `${method} ${path} anonymous`);
  }
});

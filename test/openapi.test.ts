/**
 * GET /openapi.json: the API described in OpenAPI 3.1, built from the route table and the image
 * record schema, so that every route is in it and real answers match it.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call, type Answer } from './helpers/http.ts';
import { createImage, uploadFile } from './helpers/images.ts';
import { addUser } from './helpers/accounts.ts';
import { ApiDocument } from './helpers/openApi.ts';
import { openApiPath } from '../src/api/openApiDocument.ts';
import { ROUTES } from '../src/api/routes.ts';

const { version } = JSON.parse(await readFile(resolve(import.meta.dirname, '../package.json'), 'utf8')) as { version: string };

let d: TestDaemon;
let api: ApiDocument;
test.before(async () => {
  d = await startTestDaemon();
  const res = await call(d, undefined, 'GET', '/openapi.json');
  if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
  api = new ApiDocument(res.json as Record<string, unknown>);
});
test.after.always(async () => {
  await d?.stop();
});

type Operations = Record<string, Record<string, { operationId: string; responses: Record<string, unknown>; parameters?: Array<{ name: string; in: string }> }>>;

test('anyone may read the document: OpenAPI 3.1 of this version, with the bearer key scheme', (t) => {
  const doc = api.document;
  t.is(doc['openapi'], '3.1.0');
  t.is((doc['info'] as { version: string }).version, version);
  t.deepEqual((doc['components'] as { securitySchemes: Record<string, unknown> }).securitySchemes['apiKey'], { type: 'http', scheme: 'bearer', description: 'An API key, visor_<key id>_<secret>' });
});

test('every route of the route table is in the document, by its name, with its path parameters, and nothing else is', (t) => {
  const paths = api.document['paths'] as Operations;
  const documented = new Set<string>();
  for (const [path, operations] of Object.entries(paths)) for (const [method, op] of Object.entries(operations)) documented.add(`${method.toUpperCase()} ${path} ${op.operationId}`);
  const expected = new Set(Object.entries(ROUTES).map(([name, r]) => `${r.method} ${openApiPath(r.path)} ${name}`));
  t.deepEqual([...documented].sort(), [...expected].sort());
  for (const route of Object.values(ROUTES)) {
    const op = paths[openApiPath(route.path)]![route.method.toLowerCase()]!;
    const inPath = [...openApiPath(route.path).matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
    t.deepEqual(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [], inPath, route.path);
    t.truthy(op.responses['default'], `${route.path}: the error shape`);
  }
});

test("the image schema is the catalogue's own: a field added there is in the document", async (t) => {
  const schema = JSON.parse(await readFile(resolve(import.meta.dirname, '../catalog-schema/image.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
  const image = (api.document['components'] as { schemas: Record<string, { properties: Record<string, unknown> }> }).schemas['Image']!;
  t.deepEqual(Object.keys(image.properties), Object.keys(schema.properties));
});

test('real answers match the document: images, lists, history, errors, health, stores', async (t) => {
  const user = await addUser(d, 'documented');
  const id = await createImage(d, d.token, { name: 'documented', access: 'public', disk: 'raw', tags: ['a'] });
  await uploadFile(d, d.token, id, Buffer.from('bytes of a documented image'));
  const answers: Array<[string, string, Answer]> = [];
  const ask = async (key: string | undefined, method: string, path: string, body?: unknown) => {
    const res = await call(d, key, method, path, body);
    answers.push([method, path, res]);
    return res;
  };
  t.is((await ask(d.token, 'POST', '/images', { name: 'another', access: 'private', properties: { os: 'linux' } })).status, 201);
  t.is((await ask(undefined, 'GET', `/images/${id}`)).status, 200);
  t.is((await ask(undefined, 'GET', '/images?limit=5')).status, 200);
  t.is((await ask(d.token, 'GET', '/images/detail?limit=5')).status, 200);
  t.is((await ask(d.token, 'PUT', `/images/${id}`, { description: 'documented', min_ram: null })).status, 200);
  t.is((await ask(d.token, 'GET', `/images/${id}/history`)).status, 200);
  t.is((await ask(d.token, 'GET', `/images/${id}/grants`)).status, 200);
  t.is((await ask(user, 'GET', '/whoami')).status, 200);
  t.is((await ask(undefined, 'GET', '/whoami')).status, 200);
  t.is((await ask(d.token, 'GET', '/users')).status, 200);
  t.is((await ask(d.token, 'GET', '/stores')).status, 200);
  t.is((await ask(undefined, 'GET', '/health')).status, 200);
  t.is((await ask(d.token, 'GET', '/health')).status, 200);
  t.is((await ask(undefined, 'GET', '/catalog/HEAD')).status, 200);
  // Errors, in the one shape.
  t.is((await ask(d.token, 'POST', '/images', { name: '', disk: 'floppy' })).status, 400);
  t.is((await ask(undefined, 'POST', '/images', { name: 'x' })).status, 401);
  t.is((await ask(user, 'GET', '/users')).status, 403);
  t.is((await ask(undefined, 'GET', '/images/00000000-0000-4000-8000-000000000000')).status, 404);
  t.is((await ask(d.token, 'POST', `/images/${id}/copy`, { to: 'nowhere' })).status, 400);
  const problems = answers.flatMap(([method, path, res]) => api.problems(method, path, res.status, res.json));
  t.deepEqual(problems, []);
});

test('an answer that breaks the document is caught: the check is not vacuous', (t) => {
  t.not(api.problems('GET', '/images/00000000-0000-4000-8000-000000000000', 200, { id: 'not-a-uuid', name: 'x' }).length, 0);
  t.not(api.problems('GET', '/images', 200, { images: [{ id: 'x', surprise: true }] }).length, 0);
  t.not(api.problems('GET', '/images/00000000-0000-4000-8000-000000000000', 404, { message: 'not our shape' }).length, 0);
  t.not(api.problems('POST', '/images', 201, { error: { code: 'invalid', message: 'a 201 is an image' } }).length, 0);
});

/**
 * Request bodies from hostile clients. A route that needs a signed-in caller (or an admin) refuses
 * others before it reads a byte of the body; whatever is wrong with a body (its encoding, its JSON,
 * its nesting, its size once decoded) is a 400 (413) in the error shape, never a 500.
 */
import test from 'ava';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { addUser } from './helpers/accounts.ts';
import { call } from './helpers/http.ts';
import { createImage } from './helpers/images.ts';
import { openRaw } from './helpers/rawSockets.ts';

let d: TestDaemon;
let user: string;
let imageId: string;
test.before(async () => {
  d = await startTestDaemon();
  user = await addUser(d, 'ursula');
  imageId = await createImage(d, d.token, { name: 'private-one' });
});
test.after.always(() => d?.stop());

/** Sends only the headers of a request announcing a 1 MB body, and waits (at most 5 s) for an answer. */
async function headersOnly(method: string, path: string, key: string | undefined, type = 'application/json') {
  const c = await openRaw(d.url, { timeoutMs: 5000 });
  c.socket.on('error', () => undefined);
  c.socket.write(`${method} ${path} HTTP/1.1\r\nHost: x\r\n${key ? `Authorization: Bearer ${key}\r\n` : ''}Content-Type: ${type}\r\nContent-Length: 1000000\r\n\r\n`);
  return c.answer;
}

test('callers a route refuses are answered before any of the body is read: anonymous, a wrong key, a non-admin, a stranger uploading', async (t) => {
  const wrongKey = `${user.slice(0, 23)}${'A'.repeat(43)}`;
  const cases: [string, string, string | undefined, number, string?][] = [
    ['POST', '/images', undefined, 401],
    ['POST', '/images', wrongKey, 401],
    ['PUT', `/images/${imageId}`, undefined, 401],
    ['POST', `/images/${imageId}/copy`, undefined, 401],
    ['POST', `/images/${imageId}/locations`, undefined, 401],
    ['PUT', `/images/${imageId}/grants/users/ursula`, undefined, 401],
    ['POST', '/users', user, 403],
    ['PUT', '/users/ursula', user, 403],
    ['POST', '/groups', user, 403],
    ['POST', '/stores/fs/gc', user, 403],
    ['PUT', `/images/${imageId}/file`, undefined, 401, 'application/octet-stream'],
    // A stranger may not upload to an image it cannot see: the same answer as a missing image.
    ['PUT', `/images/${imageId}/file`, user, 404, 'application/octet-stream'],
  ];
  for (const [method, path, key, status, type] of cases) {
    const a = await headersOnly(method, path, key, type);
    t.is(a.status, status, `${method} ${path}`);
    t.true(a.ms < 3000, `${method} ${path} answered after ${Math.round(a.ms)} ms`);
    t.is(a.headers['connection'], 'close', 'the unread body cannot be followed by another request');
    t.truthy((JSON.parse(a.body) as { error: { code: string } }).error.code);
  }
});

test('anonymous bodies in a bad encoding, of bad JSON or nested deep get the 401, not a 500', async (t) => {
  for (const [headers, body] of [
    [{ 'content-encoding': 'gzip' }, Buffer.from('not gzip')],
    [{ 'content-encoding': 'br' }, Buffer.from('not brotli')],
    [{ 'content-encoding': 'deflate' }, Buffer.from('not deflate')],
    [{}, Buffer.from('['.repeat(100_000))],
  ] as const) {
    const a = await call(d, undefined, 'POST', '/images', new Uint8Array(body), { 'content-type': 'application/json', ...headers });
    t.is(a.status, 401);
  }
});

test('a signed-in caller\'s malformed body is a 400 naming what is wrong, never a 500', async (t) => {
  const send = (body: Uint8Array | string, headers: Record<string, string> = {}) =>
    call(d, user, 'POST', '/images', typeof body === 'string' ? new Uint8Array(Buffer.from(body)) : body, { 'content-type': 'application/json', ...headers });
  const problem = (a: { json: unknown }) => (a.json as { error: { problems?: { field: string; rule: string }[] } }).error.problems?.[0];

  for (const encoding of ['gzip', 'deflate', 'br']) {
    const a = await send('{"name":"x"}', { 'content-encoding': encoding });
    t.is(a.status, 400, encoding);
    t.like(problem(a), { field: '(body)', rule: 'encoding' });
  }
  const unsupported = await send('{"name":"x"}', { 'content-encoding': 'compress' });
  t.is(unsupported.status, 400);
  t.like(problem(unsupported), { field: 'Content-Encoding', rule: 'supported' });
  const truncated = await send(gzipSync('{"name":"truncated"}').subarray(0, 12), { 'content-encoding': 'gzip' });
  t.is(truncated.status, 400);

  for (const text of ['{"name":', '{"name":"x",}', 'null', '"a string"', '{"name":"x"}garbage']) {
    const a = await send(text);
    t.is(a.status, 400, text);
    t.like(problem(a), { field: '(body)', rule: 'json' });
  }
  const proto = await send('{"name":"p","__proto__":{"admin":true}}');
  t.is(proto.status, 400);
  t.like(problem(proto), { field: '__proto__' });

  // 1 MB of nested arrays (V8 takes ~0.7 s to parse it) is refused by its depth before parsing.
  const started = performance.now();
  const deep = await send(`${'['.repeat(500_000)}${']'.repeat(500_000)}`);
  t.is(deep.status, 400);
  t.like(problem(deep), { field: '(body)', rule: 'nesting' });
  t.true(performance.now() - started < 2000);
  const deepObject = await send(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`);
  t.like(problem(deepObject), { rule: 'nesting' });

  // Size counts once decoded: a small gzip of 50 MB stops at the limit.
  const bomb = await send(gzipSync(Buffer.alloc(50 << 20, 0x20)), { 'content-encoding': 'gzip' });
  t.is(bomb.status, 413);
  t.is((bomb.json as { error: { code: string } }).error.code, 'too_large');

  // Well-formed bodies in each encoding are read as before.
  for (const [encoding, pack] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const) {
    const a = await send(pack(`{"name":"packed-${encoding}"}`), { 'content-encoding': encoding });
    t.is(a.status, 201, `${encoding}: ${a.text}`);
  }
  const nestedFine = await send(JSON.stringify({ name: 'nested-ok', properties: { a: { b: { c: [1, [2, [3]]] } } } }));
  t.not(nestedFine.status, 500);
  t.not((problem(nestedFine) ?? { rule: '' }).rule, 'nesting');
});

/**
 * Methods the API never takes (TRACE, PROPFIND, CONNECT, made-up ones) are a 405 in the JSON
 * error shape on every path: the routes Koa answers, the hot read paths answered on node:http, paths
 * that match nothing, and the Git endpoint (where git http-backend used to answer for itself).
 */
import test from 'ava';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { createImage } from './helpers/images.ts';
import { rawExchange } from './helpers/rawSockets.ts';

let d: TestDaemon;
let paths: string[];
test.before(async () => {
  d = await startTestDaemon();
  const id = await createImage(d, d.token, { name: 'method-target', access: 'public' });
  paths = ['/images', '/images/detail', `/images/${id}`, `/images/${id}/file`, '/health', '/no/such/path', '/catalog.git/info/refs', '/catalog.git/git-upload-pack', '/catalog.git/HEAD'];
});
test.after.always(() => d?.stop());

const request = (method: string, path: string, key?: string) =>
  rawExchange(d.url, `${method} ${path} HTTP/1.1\r\nHost: x\r\n${key ? `Authorization: Bearer ${key}\r\n` : ''}Connection: close\r\n\r\n`);

test('TRACE, PROPFIND and other methods node knows get 405 with Allow on every path, anonymous or signed in', async (t) => {
  for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'LOCK', 'COPY']) {
    for (const path of paths) {
      for (const key of [undefined, d.token]) {
        const a = await request(method, path, key);
        t.is(a.status, 405, `${method} ${path}`);
        t.is((JSON.parse(a.body) as { error: { code: string } }).error.code, 'method_not_allowed');
        t.true('allow' in a.headers, `${method} ${path} says what is allowed`);
        t.notRegex(a.headers['allow'] ?? '', new RegExp(`\\b${method}\\b`));
      }
    }
  }
});

test('PATCH, which only the Glance v2 edge takes (/v2/images/:id), is a 405 with Allow on every other route', async (t) => {
  for (const path of paths.filter((p) => p !== '/no/such/path')) {
    const a = await request('PATCH', path, d.token);
    t.is(a.status, 405, path);
    t.notRegex(a.headers['allow'] ?? '', /PATCH/);
  }
});

test('made-up methods and CONNECT, refused by node below the app, get a 405 in the same shape', async (t) => {
  for (const line of ['FOO /images HTTP/1.1', 'BREW /catalog.git/info/refs HTTP/1.1', 'CONNECT 127.0.0.1:22 HTTP/1.1', 'CONNECT /images HTTP/1.1']) {
    const a = await rawExchange(d.url, `${line}\r\nHost: x\r\n\r\n`);
    t.is(a.status, 405, line);
    t.is((JSON.parse(a.body) as { error: { code: string } }).error.code, 'method_not_allowed', line);
  }
  // The daemon still serves afterwards.
  t.is((await fetch(`${d.url}/images`)).status, 200);
});

test('the Git endpoint takes GET and HEAD for reads and POST for the pack negotiation, and says so', async (t) => {
  const post = await request('POST', '/catalog.git/info/refs');
  t.is(post.status, 405);
  t.is(post.headers['allow'], 'HEAD, GET');
  const get = await request('GET', '/catalog.git/git-upload-pack');
  t.is(get.status, 405);
  t.is(get.headers['allow'], 'POST');
  const options = await request('OPTIONS', '/catalog.git/info/refs');
  t.is(options.status, 204);
  t.is(options.headers['allow'], 'HEAD, GET');
  const refs = await request('GET', '/catalog.git/info/refs?service=git-upload-pack');
  t.is(refs.status, 200, 'clones still work');
  const push = await request('GET', '/catalog.git/info/refs?service=git-receive-pack');
  t.is(push.status, 403, 'pushes are still refused as before');
});

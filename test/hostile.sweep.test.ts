/**
 * A sweep of malformed requests, as a hostile client would send them: odd methods, paths (encoded
 * dots, NUL, very long, unicode), headers (huge, duplicated, bad Content-Length, Transfer-Encoding,
 * Range, Authorization), bodies (bad JSON, deep nesting, bad encodings), over raw sockets and fetch,
 * anonymous and signed in. None may get a 5xx or crash the daemon, none anonymous may change anything,
 * and the daemon serves normal requests afterwards. The requests come from a seeded generator, so a
 * failure names a request that can be sent again.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { addUser } from './helpers/accounts.ts';
import { git } from './helpers/gitRepos.ts';
import { createImage, sha256 } from './helpers/images.ts';
import { rawExchange, type RawAnswer } from './helpers/rawSockets.ts';

/** The daemon's own error lines: a request that failed on our side is logged at error level. */
const errorLines: string[] = [];
const logSink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const line of chunk.toString().split('\n')) if (line.includes('"level":50') || line.includes('"level":60')) errorLines.push(line);
    done();
  },
});

let d: TestDaemon;
let user: string;
let publicId: string;
let privateId: string;
test.before(async () => {
  d = await startTestDaemon({ logger: pino({ level: 'error' }, logSink) });
  user = await addUser(d, 'sweeper');
  publicId = await createImage(d, d.token, { name: 'sweep-public', access: 'public' });
  privateId = await createImage(d, d.token, { name: 'sweep-private' });
});
test.after.always(() => d?.stop());

/** mulberry32: a small seeded generator, so each run sends the same requests. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

async function instanceState(): Promise<string> {
  const head = (dir: string) => git(dir, 'rev-parse', 'HEAD').trim();
  const file = async (name: string) => sha256(await readFile(join(d.dataDir, name)).catch(() => Buffer.alloc(0)));
  return JSON.stringify({ catalog: head(d.daemon.config.catalog.path), private: head(d.daemon.config.catalog.privatePath), accounts: await file('accounts.json'), grants: await file('grants.json') });
}

/** Marks a request sent without a Host header. */
const NO_HOST = '(no Host)';

interface RawRequest {
  label: string;
  bytes: Buffer;
}

/** Builds `count` malformed requests; `credentials` are the Authorization values to pick from ('' for none). */
function malformedRequests(count: number, seed: number, credentials: string[]): RawRequest[] {
  const rnd = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  // The API's methods weigh more: most malformed requests worth sending reach a route.
  const methods = ['GET', 'GET', 'GET', 'HEAD', 'POST', 'POST', 'POST', 'PUT', 'PUT', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'FOO', 'CONNECT', 'get', 'G ET', ''];
  const paths = [
    '/images',
    '/images/detail',
    `/images/${publicId}`,
    `/images/${privateId}`,
    `/images/${publicId}/file`,
    `/images/${privateId}/file`,
    `/images/${publicId}/history`,
    `/images/${publicId}/copy`,
    `/images/${publicId}/locations`,
    `/images/${publicId}/grants`,
    `/images/${privateId}/grants/users/sweeper`,
    '/users',
    '/users/sweeper',
    '/users/sweeper/key',
    '/groups',
    '/series/sweep/latest',
    '/series/sweep/latest/file',
    '/catalog/HEAD',
    '/catalog/files/',
    '/catalog.git/info/refs?service=git-upload-pack',
    '/catalog.git/git-upload-pack',
    '/stores',
    '/stores/fs/gc',
    '/sync',
    '/report',
    '/health',
    '/whoami',
    // Encoded dots, traversal, NUL, bad escapes, unicode, doubled slashes, odd queries.
    '/catalog/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/catalog/files/..%2f..%2f..%2fetc%2fpasswd',
    '/catalog.git/%2e%2e/%2e%2e/config',
    '/catalog.git/objects/../../../../etc/passwd',
    '/images/%2e%2e',
    '/images/..%2f..%2fusers',
    `/images/${publicId}%00`,
    '/images/%00/file',
    '/images/%zz',
    '/images/%',
    '/images/ünïcode',
    '/images/%F0%9F%92%A9',
    '/images/%C0%AE%C0%AE',
    '//images',
    '/images/../users',
    '/images?limit=-1',
    '/images?limit=99999999999999999999',
    '/images?sort=%00&marker=%ff',
    '/images?a[b][c]=d&a=e',
    '/images?limit=1&limit=2',
    `/images/detail?${'x=1&'.repeat(2000)}`,
    '/report?top=-1',
    '/report?top=1e9',
    '*',
    'http://evil.example/images',
    `/${'a'.repeat(9000)}`,
    `/images/${'b'.repeat(70_000)}`,
  ];
  const contentTypes = ['application/json', 'application/octet-stream', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x', ''];
  const bodies: (() => Buffer)[] = [
    () => Buffer.alloc(0),
    () => Buffer.from('{"name":'),
    () => Buffer.from('{"name":"sweep-x","access":"public"}'),
    () => Buffer.from('{"__proto__":{"admin":true},"name":"p"}'),
    () => Buffer.from('['.repeat(20_000) + ']'.repeat(20_000)),
    () => Buffer.from('{"a":'.repeat(5000) + '1' + '}'.repeat(5000)),
    () => Buffer.from([0xff, 0xfe, 0x00, 0x7b]),
    () => Buffer.from('null'),
    () => gzipSync('{"name":"sweep-gz"}'),
    () => Buffer.from('not compressed at all'),
    () => Buffer.alloc(2 << 20, 0x20),
  ];
  const encodings = ['', 'gzip', 'deflate', 'br', 'compress', 'gzip, gzip', 'identity', 'x-gzip', 'zstd'];
  const oddHeaders: ((body: Buffer) => string[])[] = [
    () => [`X-Huge: ${'h'.repeat(20_000)}`],
    () => Array.from({ length: 200 }, (_, i) => `X-Many-${i}: ${i}`),
    (b) => [`Content-Length: ${b.length}`, `Content-Length: ${b.length + 1}`],
    () => ['Content-Length: abc'],
    () => ['Content-Length: -1'],
    () => ['Content-Length: 99999999999999999999'],
    () => ['Transfer-Encoding: chunked', 'Content-Length: 5'],
    () => ['Transfer-Encoding: gzip'],
    () => ['Transfer-Encoding: chunked, chunked'],
    () => ['Range: bytes=abc'],
    () => ['Range: bytes=5-1'],
    () => ['Range: bytes=0-0,1-1,2-2,3-3,4-4,5-5'],
    () => ['Range: bytes=-0'],
    () => ['Range: bytes=99999999999999999999-'],
    () => ['If-Range: "nope"', 'Range: bytes=0-1'],
    () => ['If-None-Match: *'],
    () => ['If-Match: "x", "y"'],
    () => ['Expect: 100-continue'],
    () => ['Authorization: Basic YWRtaW46YWRtaW4='],
    () => [`Authorization: Bearer ${'visor_'.padEnd(400, 'x')}`],
    () => ['Authorization: Bearer visor_0123456789abcdef_' + 'A'.repeat(43)],
    () => ['Authorization: Bearer', 'Authorization: Bearer x'],
    () => ['X-Forwarded-For: 1.2.3.4', 'Forwarded: for=1.2.3.4'],
    () => ['Host: evil.example', 'Host: other.example'],
    () => ['Connection: upgrade', 'Upgrade: websocket'],
    () => ['X-Bad\u0000Name: 1'],
    () => ['X-Bad-Value: a\u0001b'],
    () => [NO_HOST],
    () => [],
  ];
  const out: RawRequest[] = [];
  for (let i = 0; i < count; i++) {
    const method = pick(methods);
    const path = pick(paths);
    const body = rnd() < 0.5 ? pick(bodies)() : Buffer.alloc(0);
    const extra = rnd() < 0.6 ? pick(oddHeaders)(body) : [];
    const headers = extra.includes(NO_HOST) ? ['Connection: close'] : ['Host: 127.0.0.1', 'Connection: close'];
    const credential = pick(credentials);
    if (credential !== '') headers.push(`Authorization: ${credential}`);
    const type = pick(contentTypes);
    if (type !== '') headers.push(`Content-Type: ${type}`);
    const encoding = rnd() < 0.3 ? pick(encodings) : '';
    if (encoding !== '') headers.push(`Content-Encoding: ${encoding}`);
    const framed = extra.some((h) => /^(content-length|transfer-encoding):/i.test(h));
    if (!framed && (body.length > 0 || rnd() < 0.2)) headers.push(`Content-Length: ${body.length}`);
    headers.push(...extra.filter((h) => h !== NO_HOST));
    const head = `${method} ${path} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`;
    const label = `#${i} ${method} ${path.slice(0, 80)} [${extra.map((h) => h.slice(0, 40)).join(' | ')}] body ${body.length} B ${encoding}`;
    out.push({ label, bytes: Buffer.concat([Buffer.from(head, 'latin1'), body]) });
  }
  return out;
}

/** Sends the requests, `parallel` connections at a time; answers in order. */
async function sendAll(requests: RawRequest[], parallel: number): Promise<RawAnswer[]> {
  const answers: RawAnswer[] = new Array(requests.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < requests.length) {
        const i = next++;
        answers[i] = await rawExchange(d.url, requests[i]!.bytes, { timeoutMs: 5000 });
      }
    }),
  );
  return answers;
}

function histogram(statuses: number[]): Record<string, number> {
  const h: Record<string, number> = {};
  for (const s of statuses) h[String(s)] = (h[String(s)] ?? 0) + 1;
  return h;
}

/** Each answer is not a 5xx, and an error answer is in the JSON shape. */
function checkAnswers(t: import('ava').ExecutionContext, requests: RawRequest[], answers: RawAnswer[]): void {
  const serverErrors = answers.flatMap((a, i) => (a.status >= 500 ? [`${a.status} for ${requests[i]!.label}: ${a.body.slice(0, 200)}`] : []));
  t.deepEqual(serverErrors, [], 'no 5xx');
  const unanswered = answers.flatMap((a, i) => (a.status === 0 ? [`${requests[i]!.label} (${a.error ?? 'closed'}, ${Math.round(a.ms)} ms)`] : []));
  t.deepEqual(unanswered, [], 'every request gets an answer');
  const shapeless = answers.flatMap((a, i) => {
    if (a.status < 400 || requests[i]!.label.includes(' HEAD ')) return [];
    try {
      const code = (JSON.parse(a.body) as { error?: { code?: unknown } }).error?.code;
      return typeof code === 'string' ? [] : [`${a.status} for ${requests[i]!.label}`];
    } catch {
      return [`${a.status} (not JSON) for ${requests[i]!.label}: ${a.body.slice(0, 80)}`];
    }
  });
  t.deepEqual(shapeless, [], 'every error answer is in the JSON error shape');
}

test.serial('anonymous: malformed requests over raw sockets get no 5xx and change nothing', async (t) => {
  const before = await instanceState();
  const wrongSecret = `Bearer ${user.slice(0, 23)}${'Z'.repeat(43)}`;
  const requests = malformedRequests(1000, 12, ['', '', '', 'Bearer nope', wrongSecret]);
  const started = performance.now();
  const answers = await sendAll(requests, 12);
  t.log(`anonymous raw: ${requests.length} requests in ${Math.round(performance.now() - started)} ms`, histogram(answers.map((a) => a.status)));
  checkAnswers(t, requests, answers);
  t.is(await instanceState(), before, 'no anonymous request changed the catalogues, the accounts or the grants');
  t.deepEqual(errorLines, [], 'nothing failed on the daemon\'s side');
});

test.serial('signed in: malformed requests over raw sockets get no 5xx', async (t) => {
  const requests = malformedRequests(1000, 34, [`Bearer ${user}`, `Bearer ${d.token}`]);
  const started = performance.now();
  const answers = await sendAll(requests, 12);
  t.log(`signed-in raw: ${requests.length} requests in ${Math.round(performance.now() - started)} ms`, histogram(answers.map((a) => a.status)));
  checkAnswers(t, requests, answers);
  t.deepEqual(errorLines, [], 'nothing failed on the daemon\'s side');
});

test.serial('fetch: odd methods, headers and bodies as a browser-like client sends them get no 5xx', async (t) => {
  const rnd = random(56);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'PROPFIND', 'OPTIONS', 'HEAD'];
  const paths = ['/images', `/images/${publicId}`, `/images/${privateId}/file`, `/images/${publicId}/file`, '/users', '/groups', '/stores/fs/gc', '/catalog/files/%2e%2e%2f', '/images/%E2%80%AE', '/whoami', '/sync'];
  const statuses: number[] = [];
  const failures: string[] = [];
  const started = performance.now();
  for (let i = 0; i < 250; i++) {
    const method = pick(methods);
    const path = pick(paths);
    const key = pick(['', user, d.token]);
    const headers: Record<string, string> = {};
    if (key) headers['authorization'] = `Bearer ${key}`;
    if (rnd() < 0.4) headers['range'] = pick(['bytes=0-', 'bytes=x-y', 'bytes=10-5', 'bytes=0-1,2-3', 'pages=1']);
    if (rnd() < 0.3) headers['content-encoding'] = pick(['gzip', 'br', 'deflate', 'zstd']);
    let body: Uint8Array | undefined;
    if (method !== 'GET' && method !== 'HEAD' && rnd() < 0.7) {
      headers['content-type'] = pick(['application/json', 'application/octet-stream', 'text/plain']);
      body = new Uint8Array(Buffer.from(pick(['{', '[]', '{"name":1}', '{"name":"fetch-sweep"}', '"x"', '{"a":'.repeat(300) + '1' + '}'.repeat(300)])));
    }
    const res = await fetch(`${d.url}${path}`, { method, headers, ...(body ? { body } : {}), redirect: 'manual' });
    await res.arrayBuffer();
    statuses.push(res.status);
    if (res.status >= 500) failures.push(`${res.status} for ${method} ${path} ${JSON.stringify(headers).slice(0, 120)}`);
  }
  t.log(`fetch: ${statuses.length} requests in ${Math.round(performance.now() - started)} ms`, histogram(statuses));
  t.deepEqual(failures, []);
});

test.serial('afterwards the daemon serves normal requests', async (t) => {
  t.is((await fetch(`${d.url}/images`)).status, 200);
  // The sweep may have rotated or removed its own user: a fresh one.
  const fresh = await addUser(d, 'after-sweep');
  const created = await fetch(`${d.url}/images`, { method: 'POST', headers: { authorization: `Bearer ${fresh}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'after-the-sweep' }) });
  t.is(created.status, 201);
  const health = await fetch(`${d.url}/health`);
  t.is(health.status, 200);
});

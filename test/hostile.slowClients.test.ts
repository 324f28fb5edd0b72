/**
 * Slow and greedy clients: headers and bodies that trickle or stall are cut within the configured
 * bounds (uploads only by the idle one), connections are capped per client and in all, and the
 * daemon serves others promptly throughout. Small bounds here; the defaults are 20/60/60 s, 128, 1024.
 */
import test from 'ava';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { createImage } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { openRaw, rawExchange, requestFrom, type RawConnection } from './helpers/rawSockets.ts';

const HEADERS_S = 2;
const REQUEST_S = 3;
const IDLE_S = 2;
/** A bound's cut may come up to a second late (node checks headers once a second); the rest is load. */
const SLACK_MS = 2500;

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon({ config: { server: { headers_timeout_seconds: HEADERS_S, request_timeout_seconds: REQUEST_S, idle_timeout_seconds: IDLE_S } } });
});
test.after.always(() => d?.stop());

/** Writes `bytes` one at a time every `everyMs` until the connection closes. */
function trickle(c: RawConnection, bytes: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (i >= bytes.length || c.socket.destroyed) clearInterval(timer);
    else c.socket.write(bytes[i++]!);
  }, everyMs);
  c.socket.once('close', () => clearInterval(timer));
}

/** Another client's read, timed. */
async function otherClientRead(): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${d.url}/images`);
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

test('headers that trickle, and a connection that sends nothing, are cut after the headers timeout while others are served', async (t) => {
  const trickling = await openRaw(d.url, { timeoutMs: 15_000 });
  trickling.socket.write('GET /images HTTP/1.1\r\n');
  trickle(trickling, 'X-Slow: '.repeat(200), 200);
  const silent = await openRaw(d.url, { timeoutMs: 15_000 });
  await new Promise((r) => setTimeout(r, 500));
  const other = await otherClientRead();
  const [cut, quiet] = await Promise.all([trickling.answer, silent.answer]);
  t.is(other.status, 200);
  t.true(other.ms < 1500, `another client waited ${Math.round(other.ms)} ms`);
  for (const c of [cut, quiet]) t.true(c.ms >= HEADERS_S * 1000 - 100 && c.ms < HEADERS_S * 1000 + SLACK_MS, `cut after ${Math.round(c.ms)} ms`);
  t.is(cut.status, 408);
  t.like(JSON.parse(cut.body), { error: { code: 'request_timeout' } });
});

test('a JSON body that trickles is cut after the request timeout, one that stalls after the idle timeout, each with a 408 in the error shape', async (t) => {
  const head = `POST /images HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.token}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n`;
  const trickling = await openRaw(d.url, { timeoutMs: 15_000 });
  trickling.socket.write(head);
  trickle(trickling, ' '.repeat(200), 300);
  const stalled = await openRaw(d.url, { timeoutMs: 15_000 });
  stalled.socket.write(`${head}{"na`);
  await new Promise((r) => setTimeout(r, 500));
  const other = await otherClientRead();
  const [slow, idle] = await Promise.all([trickling.answer, stalled.answer]);
  t.is(other.status, 200);
  t.true(other.ms < 1500, `another client waited ${Math.round(other.ms)} ms`);
  t.is(slow.status, 408);
  t.like(JSON.parse(slow.body), { error: { code: 'request_timeout' } });
  t.true(slow.ms >= REQUEST_S * 1000 - 100 && slow.ms < REQUEST_S * 1000 + SLACK_MS, `trickle cut after ${Math.round(slow.ms)} ms`);
  t.is(idle.status, 408);
  t.true(idle.ms >= IDLE_S * 1000 - 100 && idle.ms < IDLE_S * 1000 + SLACK_MS, `stall cut after ${Math.round(idle.ms)} ms`);
});

test('an upload may take longer than the request timeout while bytes keep coming, and is cut when they stop', async (t) => {
  const id = await createImage(d, d.token, { name: 'slow-upload' });
  const put = (length: number) => `PUT /images/${id}/file HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${d.token}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${length}\r\nConnection: close\r\n\r\n`;
  // 10 bytes, one every 450 ms: ~4.5 s in all, more than the request timeout, never idle for long.
  const slow = await openRaw(d.url, { timeoutMs: 15_000 });
  slow.socket.write(put(10));
  trickle(slow, 'abcdefghij', 450);
  const done = await slow.answer;
  t.is(done.status, 200, done.body);
  t.true(done.ms > REQUEST_S * 1000, `took ${Math.round(done.ms)} ms`);
  t.like(JSON.parse(done.body), { status: 'available', size: 10 });

  const other = await createImage(d, d.token, { name: 'stalled-upload' });
  const stalled = await openRaw(d.url, { timeoutMs: 15_000 });
  stalled.socket.write(put(10).replace(id, other) + 'abc');
  const cut = await stalled.answer;
  t.true(cut.ms >= IDLE_S * 1000 - 100 && cut.ms < IDLE_S * 1000 + SLACK_MS, `stalled upload cut after ${Math.round(cut.ms)} ms`);
  // The cut upload is recorded as failed, so it can be tried again.
  const status = await pollUntil(
    async () => ((await (await fetch(`${d.url}/images/${other}`, { headers: { authorization: `Bearer ${d.token}` } })).json()) as { status: string }).status,
    (s) => s === 'error',
    { within: 5000 },
  );
  t.is(status, 'error');
});

test('twenty anonymous POSTs that trickle their bodies are refused at once, and their connections closed', async (t) => {
  const started = performance.now();
  const answers = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const c = await openRaw(d.url, { timeoutMs: 10_000 });
      c.socket.write('POST /images HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{');
      trickle(c, ' '.repeat(100), 1000);
      return c.answer;
    }),
  );
  t.true(answers.every((a) => a.status === 401), answers.map((a) => a.status).join(','));
  t.true(performance.now() - started < 2000, `all closed after ${Math.round(performance.now() - started)} ms`);
});

test('connections are capped per client (429 with Retry-After; this host’s own address excepted) and in all (closed), and others are served meanwhile', async (t) => {
  const capped = await startTestDaemon({ config: { server: { max_connections_per_client: 4, max_connections: 10 } } });
  t.teardown(() => capped.stop());
  const held: RawConnection[] = [];
  t.teardown(() => held.forEach((c) => c.socket.destroy()));
  for (let i = 0; i < 4; i++) held.push(await openRaw(capped.url, { localAddress: '127.0.0.2' }));
  const fifth = await rawExchange(capped.url, 'GET /images HTTP/1.1\r\nHost: x\r\n\r\n', { localAddress: '127.0.0.2' });
  t.is(fifth.status, 429);
  t.true(Number(fifth.headers['retry-after']) >= 1);
  t.like(JSON.parse(fifth.body), { error: { code: 'too_many_requests' } });
  // Another client is not held back by the first one's cap.
  const other = await requestFrom(capped.url, '127.0.0.3', 'GET', '/images');
  t.is(other.status, 200);

  // This host's own address (local clients, a reverse proxy here) is one address for many users:
  // it counts towards the total cap only.
  const local: RawConnection[] = [];
  for (let i = 0; i < 5; i++) local.push(await openRaw(capped.url, { localAddress: '127.0.0.1' }));
  const localRequest = await requestFrom(capped.url, '127.0.0.1', 'GET', '/images');
  t.is(localRequest.status, 200);
  for (const c of local) c.socket.destroy();
  await new Promise((r) => setTimeout(r, 100));

  // Ten in all: four from .2, four from .3, two from .4; the eleventh is closed unanswered.
  for (let i = 0; i < 4; i++) held.push(await openRaw(capped.url, { localAddress: '127.0.0.3' }));
  for (let i = 0; i < 2; i++) held.push(await openRaw(capped.url, { localAddress: '127.0.0.4' }));
  await new Promise((r) => setTimeout(r, 100));
  const eleventh = await rawExchange(capped.url, 'GET /images HTTP/1.1\r\nHost: x\r\n\r\n', { localAddress: '127.0.0.5', timeoutMs: 5000 });
  t.is(eleventh.status, 0, 'over the total cap, no answer');
  t.true(eleventh.ms < 2000);
  // Once connections close, new ones are served again.
  for (const c of held.splice(0)) c.socket.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const again = await requestFrom(capped.url, '127.0.0.2', 'GET', '/images');
  t.is(again.status, 200);
});

test('the bounds and caps are settings with documented defaults, overridable by environment, and checked', (t) => {
  const env = { HOME: '/nonexistent' };
  t.deepEqual(loadConfig({ env }).server.limits, { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000, idleTimeoutMs: 60_000, maxConnections: 1024, maxConnectionsPerClient: 128 });
  t.like(loadConfig({ env: { ...env, VISOR_IDLE_TIMEOUT: '600', VISOR_MAX_CONNECTIONS_PER_CLIENT: '0' } }).server.limits, { idleTimeoutMs: 600_000, maxConnectionsPerClient: 0 });
  t.throws(() => loadConfig({ env, overrides: { server: { headers_timeout_seconds: 0 } } }), { message: /server\.headers_timeout_seconds/ });
  t.throws(() => loadConfig({ env, overrides: { server: { max_connections: -1 } } }), { message: /server\.max_connections/ });
});

test('over TLS, a connection over its client\u2019s cap is closed before the handshake while the others are served', async (t) => {
  const cert = 'test/fixtures/tls/cert.pem';
  const tls = await startTestDaemon({ config: { server: { tls_cert: cert, tls_key: 'test/fixtures/tls/key.pem', max_connections_per_client: 2 } } });
  t.teardown(() => tls.stop());
  const port = Number(new URL(tls.url).port);
  const ca = readFileSync(cert);
  const firstLine = () =>
    new Promise<string>((resolve) => {
      // The TCP connection from another loopback address, the TLS session over it.
      const s = tlsConnect({ socket: connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }), host: '127.0.0.1', ca });
      let out = '';
      s.on('secureConnect', () => s.write('GET /images HTTP/1.1\r\nHost: x\r\n\r\n'));
      s.on('data', (c: Buffer) => (out += c.toString()));
      s.on('error', (e: NodeJS.ErrnoException) => (out ||= `error ${e.code ?? e.message}`));
      s.on('close', () => resolve(out.split('\r\n')[0] ?? ''));
      setTimeout(() => s.destroy(), 1500);
    });
  const lines = await Promise.all([firstLine(), firstLine(), firstLine()]);
  t.is(lines.filter((l) => l === 'HTTP/1.1 200 OK').length, 2, lines.join(' / '));
  t.is(lines.filter((l) => l === '' || l.startsWith('error')).length, 1, `the third is closed unanswered: ${lines.join(' / ')}`);
});

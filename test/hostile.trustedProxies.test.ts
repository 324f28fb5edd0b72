/**
 * Behind a reverse proxy every client arrives from the proxy's address. With `server.trusted_proxies`
 * the daemon takes the client from X-Forwarded-For, but only from a proxy it trusts: the key-check
 * budget and the audit log then count real clients, and a header from anyone else is ignored.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { addUser, awaitAuditEntries } from './helpers/accounts.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { requestFrom } from './helpers/rawSockets.ts';

const wrongSecretFor = (token: string) => `${token.slice(0, 23)}${randomBytes(32).toString('base64url')}`;

/** Wrong secrets for one key from one forwarded client until it is refused with 429 (at most 30). */
async function spendBudget(d: TestDaemon, from: string, forwarded: string, key: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 30 && statuses.at(-1) !== 429; i++) {
    statuses.push((await requestFrom(d.url, from, 'GET', '/whoami', { authorization: `Bearer ${wrongSecretFor(key)}`, 'x-forwarded-for': forwarded })).status);
  }
  return statuses;
}

test('behind a trusted proxy each forwarded client has its own key-check budget and its own address in the audit log', async (t) => {
  const d = await startTestDaemon({ config: { server: { trusted_proxies: ['127.0.0.1'] } } });
  t.teardown(() => d.stop());
  const victim = await addUser(d, 'victim');
  const spent = await spendBudget(d, '127.0.0.1', '198.51.100.7', victim);
  t.is(spent.at(-1), 429, `the guessing client is held: ${spent.join(' ')}`);
  const other = await requestFrom(d.url, '127.0.0.1', 'GET', '/whoami', { authorization: `Bearer ${wrongSecretFor(victim)}`, 'x-forwarded-for': '198.51.100.8' });
  t.is(other.status, 401, 'another client behind the same proxy is not held by its budget');
  const mark = `probe-${randomBytes(4).toString('hex')}`;
  await requestFrom(d.url, '127.0.0.1', 'GET', '/whoami', { 'x-forwarded-for': '203.0.113.9, 198.51.100.9', 'user-agent': mark });
  const [entry] = await awaitAuditEntries(d, (e) => e.agent === mark);
  t.is(entry?.ip, '198.51.100.9', 'the nearest untrusted hop is the client (the one before it wrote its own header)');
});

test('X-Forwarded-For from a peer that is not a trusted proxy is ignored, and by default no peer is trusted', async (t) => {
  for (const trusted of [['127.0.0.1'], []]) {
    const d = await startTestDaemon({ config: { server: { trusted_proxies: trusted } } });
    try {
      const victim = await addUser(d, 'victim');
      const from = trusted.length > 0 ? '127.0.0.2' : '127.0.0.1';
      const spent = await spendBudget(d, from, '198.51.100.7', victim);
      t.is(spent.at(-1), 429);
      const spoofed = await requestFrom(d.url, from, 'GET', '/whoami', { authorization: `Bearer ${wrongSecretFor(victim)}`, 'x-forwarded-for': '198.51.100.8' });
      t.is(spoofed.status, 429, `a made-up header does not buy a fresh budget (trusted: ${trusted.join(',') || 'none'})`);
      const mark = `probe-${randomBytes(4).toString('hex')}`;
      await requestFrom(d.url, from, 'GET', '/whoami', { 'x-forwarded-for': '203.0.113.9', 'user-agent': mark });
      const [entry] = await awaitAuditEntries(d, (e) => e.agent === mark);
      t.is(entry?.ip, from);
    } finally {
      await d.stop();
    }
  }
});

test('server.trusted_proxies is checked like every setting', (t) => {
  const load = (value: unknown, env: Record<string, string> = {}) => () => loadConfig({ env, overrides: { data_dir: '/tmp/visor-config-check', server: { trusted_proxies: value as string[] } } });
  t.throws(load(['10.0.0.0/33']), { message: /server\.trusted_proxies: "10\.0\.0\.0\/33" is not an address/ });
  t.throws(load('127.0.0.1'), { message: /server\.trusted_proxies/ });
  t.deepEqual(load(['loopback', '10.0.0.0/8', '::1'])().server.trustedProxies, ['loopback', '10.0.0.0/8', '::1']);
  t.deepEqual(load([], { VISOR_TRUSTED_PROXIES: '127.0.0.1, 10.1.0.0/16' })().server.trustedProxies, ['127.0.0.1', '10.1.0.0/16']);
});

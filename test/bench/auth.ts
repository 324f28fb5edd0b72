/**
 * What authentication costs per request.
 *
 *   node_modules/.bin/node test/bench/auth.ts [--seconds 8] [--connections 16]
 *
 * 1. In process: ApiKeyAuthenticator.authenticate() for a key's first use (the scrypt check), later
 *    uses (remembered sha256 digest), an unknown key id and a wrong secret; AuditLog.append().
 * 2. Over HTTP: a daemon (child process, `visor serve`, log silent) on a fresh data directory; wrk
 *    (`-t1 -c16 --latency`) on GET /images/:id of a public image, anonymous, with the admin key and
 *    with a user key, in turn, twice; the difference in mean latency and in CPU time per request is
 *    the cost of the key. Every request is audited in all variants.
 *
 * Prints a table and one JSON line. Needs wrk for part 2 (apt-get install wrk); without it, part 1 only.
 * Everything it starts listens on 127.0.0.1, is stopped by PID, and its temp directory is removed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AccountStore } from '../../src/accounts/AccountStore.ts';
import { generateApiKey } from '../../src/accounts/ApiKey.ts';
import { hashSecret } from '../../src/accounts/SecretHash.ts';
import { ApiKeyAuthenticator } from '../../src/accounts/ApiKeyAuthenticator.ts';
import { AuditLog } from '../../src/tracking/AuditLog.ts';
import { parseWrk, type WrkResult } from './parseWrk.ts';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const SECONDS = option('seconds', 8);
const CONNECTIONS = option('connections', 16);

const work = await mkdtemp(join(tmpdir(), 'visor-bench-auth-'));
let daemon: ChildProcess | undefined;
const cleanup = async () => {
  if (daemon?.pid !== undefined && daemon.exitCode === null) {
    const exited = once(daemon, 'exit');
    daemon.kill('SIGTERM');
    await exited;
  }
  await rm(work, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));

function time(iterations: number, fn: () => unknown): number {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  return Number(process.hrtime.bigint() - started) / iterations / 1000;
}

async function timeAsync(iterations: number, fn: () => Promise<unknown>): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) await fn();
  return Number(process.hrtime.bigint() - started) / iterations / 1000;
}

// ─── 1. In process ───────────────────────────────────────────────────────────────────────────────

const store = await AccountStore.open(join(work, 'accounts.json'));
const keys = Array.from({ length: 5 }, () => generateApiKey());
const hashes = await Promise.all(keys.map((k) => hashSecret(k.token)));
await store.change((draft) => {
  keys.forEach((k, i) => (draft.users[`user${i}`] = { role: 'user', disabled: false, created_at: '', key: { id: k.id, hash: hashes[i]!, created_at: '' } }));
});
const auth = new ApiKeyAuthenticator(store);
let cold = 0;
for (const k of keys) {
  const started = process.hrtime.bigint();
  await auth.authenticate(`Bearer ${k.token}`);
  cold += Number(process.hrtime.bigint() - started) / 1000;
}
cold /= keys.length;
const header = `Bearer ${keys[0]!.token}`;
for (let i = 0; i < 10_000; i++) await auth.authenticate(header);
const warm = await timeAsync(200_000, () => auth.authenticate(header));
const unknown = `Bearer visor_0123456789abcdef_${randomBytes(32).toString('base64url')}`;
const refuse = (h: string) => () => auth.authenticate(h).catch(() => undefined);
const unknownKey = await timeAsync(100_000, refuse(unknown));
const wrongSecret = await timeAsync(100_000, refuse(`Bearer ${keys[0]!.token.slice(0, 23)}${randomBytes(32).toString('base64url')}`));
const audit = new AuditLog({ dir: join(work, 'audit'), maxBytes: 64 * 2 ** 20, keep: 2 });
await audit.open();
const entry = { at: new Date().toISOString(), request: '0b3c6d8e-1f2a-4b5c-8d9e-0f1a2b3c4d5e', user: 'user0', key: keys[0]!.id, action: 'image.show', method: 'GET', path: '/images/0b3c6d8e-1f2a-4b5c-8d9e-0f1a2b3c4d5e', image: '0b3c6d8e-1f2a-4b5c-8d9e-0f1a2b3c4d5e', status: 200, outcome: 'ok' as const, ip: '127.0.0.1', agent: 'wrk', bytes: 612, ms: 0.4 };
const auditAppend = time(100_000, () => audit.append(entry));
await audit.close();

const inProcess = { key_first_use_us: Math.round(cold), key_later_use_us: round(warm), unknown_key_id_us: round(unknownKey), wrong_secret_of_known_key_us: round(wrongSecret), audit_append_us: round(auditAppend) };
console.log('in process (µs per call):');
console.log(`  key, first use (scrypt N=2^15 r=8)   ${inProcess.key_first_use_us}`);
console.log(`  key, later uses (sha256 + compare)   ${inProcess.key_later_use_us}`);
console.log(`  unknown key id, refused              ${inProcess.unknown_key_id_us}`);
console.log(`  wrong secret of a known key          ${inProcess.wrong_secret_of_known_key_us}`);
console.log(`  audit log append (queued write)      ${inProcess.audit_append_us}`);

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

// ─── 2. Over HTTP ────────────────────────────────────────────────────────────────────────────────

interface Variant {
  name: string;
  header: string | undefined;
  runs: WrkResult[];
  cpuUsPerRequest: number[];
}
let http: Record<string, unknown> | undefined;

if (spawnSync('wrk', ['--version']).error) {
  console.log('\nwrk is not installed: HTTP part skipped (apt-get install wrk)');
} else {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = join(work, 'data');
  daemon = spawn(resolve('node_modules/.bin/node'), [resolve('daemon/visor.ts'), 'serve'], {
    env: { PATH: process.env['PATH'], HOME: work, VISOR_DATA_DIR: dataDir, VISOR_PORT: String(port), VISOR_LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await waitForHealth(url);
  const admin = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
  const post = async (path: string, body: unknown) => (await (await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })).json()) as Record<string, unknown>;
  const image = (await post('/images', { name: 'bench', access: 'public' }))['id'] as string;
  const userKey = (await post('/users', { name: 'bench' }))['key'] as string;
  const variants: Variant[] = [
    { name: 'anonymous', header: undefined, runs: [], cpuUsPerRequest: [] },
    { name: 'admin key', header: `Bearer ${admin}`, runs: [], cpuUsPerRequest: [] },
    { name: 'user key', header: `Bearer ${userKey}`, runs: [], cpuUsPerRequest: [] },
  ];
  for (const v of variants) wrk(`${url}/images/${image}`, v.header, 2); // warm-up, and each key's one slow check
  for (let round = 0; round < 2; round++) {
    for (const v of variants) {
      const cpuBefore = daemonCpuUs(daemon.pid!);
      const result = wrk(`${url}/images/${image}`, v.header, SECONDS);
      v.runs.push(result);
      v.cpuUsPerRequest.push((daemonCpuUs(daemon.pid!) - cpuBefore) / result.requests);
    }
  }
  const summary = variants.map((v) => ({
    variant: v.name,
    requests_per_sec: Math.round(Math.max(...v.runs.map((r) => r.requests_per_sec))),
    latency_avg_ms: Math.min(...v.runs.map((r) => r.latency_ms.avg ?? Infinity)),
    latency_p99_ms: Math.min(...v.runs.map((r) => r.latency_ms.p99 ?? Infinity)),
    daemon_cpu_us_per_request: Math.round(Math.min(...v.cpuUsPerRequest)),
    non_2xx: v.runs.reduce((n, r) => n + r.non_2xx_3xx, 0),
  }));
  const base = summary[0]!;
  console.log(`\nover HTTP: GET /images/:id, wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, best of 2 (each request audited)`);
  console.log('  variant      req/s    avg ms   p99 ms   daemon CPU µs/req   Δ CPU µs/req');
  for (const s of summary) {
    console.log(`  ${s.variant.padEnd(11)} ${String(s.requests_per_sec).padStart(6)}   ${s.latency_avg_ms.toFixed(2).padStart(6)}   ${s.latency_p99_ms.toFixed(2).padStart(6)}   ${String(s.daemon_cpu_us_per_request).padStart(17)}   ${String(s.daemon_cpu_us_per_request - base.daemon_cpu_us_per_request).padStart(12)}${s.non_2xx > 0 ? `  (${s.non_2xx} non-2xx!)` : ''}`);
  }
  http = { connections: CONNECTIONS, seconds: SECONDS, variants: summary };
}

console.log(JSON.stringify({ in_process: inProcess, http }));
await cleanup();

function wrk(target: string, header: string | undefined, seconds: number): WrkResult {
  const out = spawnSync('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...(header ? ['-H', `Authorization: ${header}`] : []), target], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`wrk failed: ${out.stderr}`);
  return parseWrk(out.stdout);
}

/** User + system CPU time of a process so far, from /proc (clock ticks of 10 ms on Linux). */
function daemonCpuUs(pid: number): number {
  const stat = spawnSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' }).stdout;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

async function waitForHealth(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`${url}/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the daemon did not start');
}

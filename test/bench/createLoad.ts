/**
 * Create-rate benchmark: POST /images with a bearer token, N requests in flight, bounded in count
 * and in time, over keep-alive connections (node:http, one socket per in-flight request).
 *
 *   node test/bench/createLoad.ts --url http://127.0.0.1:PORT --token-file FILE
 *        [--concurrency 32] [--max-requests 3000] [--max-seconds 15] [--warmup 20]
 *
 * Prints one JSON line: creates, errors, statuses, elapsed_s, creates_per_sec, latency_ms {p50,p90,p99,max},
 * and first_error {status, body} when a request failed.
 * A create counts when the answer is 201; everything else (and transport errors) counts as an error.
 */
import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

interface Options {
  url: string;
  token: string;
  concurrency: number;
  maxRequests: number;
  maxSeconds: number;
  warmup: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { url: '', token: '', concurrency: 32, maxRequests: 3000, maxSeconds: 15, warmup: 20 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[++i];
    if (v === undefined) throw new Error(`${a} needs a value`);
    if (a === '--url') o.url = v;
    else if (a === '--token') o.token = v;
    else if (a === '--token-file') o.token = readFileSync(v, 'utf8').trim();
    else if (a === '--concurrency') o.concurrency = Number(v);
    else if (a === '--max-requests') o.maxRequests = Number(v);
    else if (a === '--max-seconds') o.maxSeconds = Number(v);
    else if (a === '--warmup') o.warmup = Number(v);
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.url) throw new Error('--url is required');
  if (!o.token) throw new Error('--token or --token-file is required');
  for (const k of ['concurrency', 'maxRequests', 'maxSeconds', 'warmup'] as const) {
    if (!Number.isFinite(o[k]) || o[k] < 0) throw new Error(`bad --${k}`);
  }
  return o;
}

const ARCHS = ['x86_64', 'aarch64', 'ppc64le', 's390x', 'riscv64', 'i386'];
const DISKS = ['qcow2', 'raw', 'iso', 'vmdk', 'vhdx', 'vdi'];
const TAGS = ['bench', 'cloud-init', 'lts', 'minimal', 'uefi', 'gpu', 'nightly'];

let seq = 0;
function body(): string {
  const n = seq++;
  const record: Record<string, unknown> = {
    name: `bench-create-${process.pid}-${n}`,
    architecture: ARCHS[n % ARCHS.length],
    disk: DISKS[n % DISKS.length],
    container_format: 'bare',
    access: n % 10 === 0 ? 'private' : 'public',
    min_disk: 1 + (n % 40),
    min_ram: 512,
    virtual_size: (1 + (n % 100)) * 1024 * 1024 * 1024,
    tags: [TAGS[n % TAGS.length], 'bench'].filter((t, i, all) => all.indexOf(t) === i),
    description: `Created by the VISOR create benchmark (#${n}).`,
  };
  if (n % 3 === 0) record.series = `bench-series-${n % 50}`;
  return JSON.stringify(record);
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round((sorted[idx] as number) * 1000) / 1000;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const target = new URL('/images', o.url);
  const agent = new Agent({ keepAlive: true, maxSockets: Math.max(1, o.concurrency) });

  let firstError: { status: number; body: string } | undefined;
  const post = (): Promise<{ status: number; ms: number }> =>
    new Promise((resolve) => {
      const payload = body();
      const t0 = performance.now();
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${o.token}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
          },
          timeout: 30_000,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const chunks: Buffer[] = [];
          if (status !== 201 && firstError === undefined) res.on('data', (b: Buffer) => chunks.push(b));
          else res.resume();
          res.on('end', () => {
            if (status !== 201 && firstError === undefined) {
              firstError = { status, body: Buffer.concat(chunks).toString('utf8').slice(0, 500) };
            }
            resolve({ status, ms: performance.now() - t0 });
          });
          res.on('error', () => resolve({ status: -1, ms: performance.now() - t0 }));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        firstError ??= { status: -1, body: e.message };
        resolve({ status: -1, ms: performance.now() - t0 });
      });
      req.end(payload);
    });

  // Warm-up (not measured): a few sequential creates, so JIT and first-commit costs stay out.
  for (let i = 0; i < o.warmup; i++) await post();

  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let started = 0;
  let creates = 0;
  const t0 = performance.now();
  const deadline = t0 + o.maxSeconds * 1000;

  const worker = async (): Promise<void> => {
    while (started < o.maxRequests && performance.now() < deadline) {
      started++;
      const r = await post();
      statuses[String(r.status)] = (statuses[String(r.status)] ?? 0) + 1;
      if (r.status === 201) {
        creates++;
        latencies.push(r.ms);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();

  latencies.sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      concurrency: o.concurrency,
      requests: started,
      creates,
      errors: started - creates,
      statuses,
      elapsed_s: Math.round(elapsed * 1000) / 1000,
      creates_per_sec: Math.round((creates / elapsed) * 10) / 10,
      latency_ms: {
        p50: percentile(latencies, 50),
        p90: percentile(latencies, 90),
        p99: percentile(latencies, 99),
        max: percentile(latencies, 100),
      },
      ...(firstError !== undefined ? { first_error: firstError } : {}),
    })}\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`createLoad: ${(e as Error).message}\n`);
  process.exit(1);
});

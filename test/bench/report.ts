/**
 * Builds the benchmark report from the metrics run.sh collected: prints a table of every figure
 * with its target and PASS/MISS, and writes the whole thing as JSON.
 *
 *   node test/bench/report.ts METRICS.jsonl OUT.json
 *
 * METRICS.jsonl holds one {"key": "a.b.c", "value": ...} a line; keys become nested objects, and a
 * key ending in [] ("errors[]") appends to a list.
 * Exit status 0; with BENCH_STRICT=1, 1 when any target is missed or not measured.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadMetrics, type Json } from './benchMetrics.ts';

type Verdict = 'PASS' | 'MISS' | 'n/a' | 'info';

interface Check {
  section: string;
  figure: string;
  value: string;
  target: string;
  verdict: Verdict;
  note?: string;
}

const [metricsPath, outPath] = process.argv.slice(2);
if (!metricsPath || !outPath) {
  process.stderr.write('usage: report.ts METRICS.jsonl OUT.json\n');
  process.exit(2);
}

const { data, get, num } = loadMetrics(metricsPath, (line) => process.stderr.write(`report: skipping unreadable metrics line: ${line.slice(0, 200)}\n`));

const fmt = (v: number | undefined, digits = 0, unit = ''): string =>
  v === undefined
    ? '—'
    : `${v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })}${unit}`;
const MB = 1_000_000;

const checks: Check[] = [];
const add = (c: Check): void => {
  checks.push(c);
};
const verdict = (measured: boolean, ok: boolean): Verdict => (!measured ? 'n/a' : ok ? 'PASS' : 'MISS');

// ---- reads ------------------------------------------------------------------------------------
const sizes = (get('meta.sizes') as { small?: number; large?: number } | undefined) ?? {};
const endpoints = (get('meta.read_endpoints') as { key: string; label: string }[] | undefined) ?? [];
const READ_RPS = 10_000;
const READ_P99 = 10;
{
  const rps = num('reads.baseline.wrk.requests_per_sec');
  add({
    section: 'Reads baseline (same run)',
    figure: 'node:http, fixed 100-byte body',
    value: `${fmt(rps, 0, ' req/s')}, p99 ${fmt(num('reads.baseline.wrk.latency_ms.p99'), 2, ' ms')}`,
    target: '',
    verdict: 'info',
  });
}
for (const size of ['small', 'large'] as const) {
  const n = sizes[size];
  const label = n === undefined ? size : `${n.toLocaleString('en-US')} images`;
  const gated = size === 'large';
  const ready = num(`reads.${size}.ready_ms`);
  add({
    section: `Reads @ ${label}`,
    figure: 'start-up to ready',
    value: fmt(ready === undefined ? undefined : ready / 1000, 2, ' s'),
    target: gated ? '< 3 s' : '',
    verdict: gated ? verdict(ready !== undefined, (ready ?? Infinity) < 3000) : 'info',
  });
  const rss = num(`reads.${size}.rss_ready_kb`);
  add({
    section: `Reads @ ${label}`,
    figure: 'RSS at ready',
    value: fmt(rss === undefined ? undefined : (rss * 1024) / MB, 1, ' MB'),
    target: '',
    verdict: 'info',
  });
  const hwm = num(`reads.${size}.hwm_after_kb`);
  add({
    section: `Reads @ ${label}`,
    figure: 'peak RSS (VmHWM) after reads',
    value: fmt(hwm === undefined ? undefined : (hwm * 1024) / MB, 1, ' MB'),
    target: '',
    verdict: 'info',
  });
  for (const ep of endpoints) {
    const base = `reads.${size}.wrk.${ep.key}`;
    const rps = num(`${base}.requests_per_sec`);
    const p50 = num(`${base}.latency_ms.p50`);
    const p99 = num(`${base}.latency_ms.p99`);
    const bad = (num(`${base}.non_2xx_3xx`) ?? 0) + (num(`${base}.socket_errors.connect`) ?? 0) +
      (num(`${base}.socket_errors.read`) ?? 0) + (num(`${base}.socket_errors.write`) ?? 0) +
      (num(`${base}.socket_errors.timeout`) ?? 0);
    const measured = rps !== undefined && p99 !== undefined;
    const ok = measured && rps >= READ_RPS && p99 <= READ_P99 && bad === 0;
    add({
      section: `Reads @ ${label}`,
      figure: ep.label,
      value: `${fmt(rps, 0, ' req/s')}, p50 ${fmt(p50, 2, ' ms')}, p99 ${fmt(p99, 2, ' ms')}`,
      target: gated ? `≥ ${READ_RPS.toLocaleString('en-US')} req/s, p99 ≤ ${READ_P99} ms` : '',
      verdict: gated ? verdict(measured, ok) : 'info',
      ...(bad > 0 ? { note: `${bad} non-2xx/3xx answers or socket errors` } : {}),
    });
  }
}

// ---- creates ----------------------------------------------------------------------------------
{
  const rate = num('creates.concurrent.creates_per_sec');
  const errors = num('creates.concurrent.errors') ?? 0;
  const conc = num('creates.concurrent.concurrency');
  add({
    section: 'Creates (POST /images)',
    figure: `concurrent (${conc ?? '?'} in flight)`,
    value: `${fmt(rate, 1, ' /s')}, p50 ${fmt(num('creates.concurrent.latency_ms.p50'), 2, ' ms')}, p99 ${fmt(
      num('creates.concurrent.latency_ms.p99'),
      2,
      ' ms',
    )} (${fmt(num('creates.concurrent.creates'))} created)`,
    target: '≥ 500 /s',
    // measured when requests were made: all of them failing is a MISS, not "not measured"
    verdict: verdict(rate !== undefined && (num('creates.concurrent.requests') ?? 0) > 0, (rate ?? 0) >= 500 && errors === 0),
    ...(errors > 0
      ? {
          note: `${errors} failed requests: ${JSON.stringify(get('creates.concurrent.statuses'))}; first: ${JSON.stringify(
            get('creates.concurrent.first_error'),
          )}`,
        }
      : {}),
  });
  const seq = num('creates.sequential.creates_per_sec');
  const seqErrors = num('creates.sequential.errors') ?? 0;
  add({
    section: 'Creates (POST /images)',
    figure: 'sequential (1 client)',
    value: `${fmt(seq, 1, ' /s')}, p50 ${fmt(num('creates.sequential.latency_ms.p50'), 2, ' ms')}, p99 ${fmt(
      num('creates.sequential.latency_ms.p99'),
      2,
      ' ms',
    )}`,
    target: '',
    verdict: 'info',
    ...(seqErrors > 0 ? { note: `${seqErrors} failed requests: ${JSON.stringify(get('creates.sequential.statuses'))}` } : {}),
  });
}

// ---- transfers --------------------------------------------------------------------------------
{
  const mib = num('meta.file_mib');
  const section = `Transfers (${mib === undefined ? '?' : mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`} file, best of 2)`;
  const openssl = num('transfers.openssl_mib_s');
  const nginx = num('transfers.nginx_mib_s');
  const up = num('transfers.upload_mib_s');
  const down = num('transfers.download_mib_s');
  add({ section, figure: 'openssl dgst -sha256 (baseline)', value: fmt(openssl, 0, ' MiB/s'), target: '', verdict: 'info' });
  add({ section, figure: 'nginx download (baseline)', value: fmt(nginx, 0, ' MiB/s'), target: '', verdict: 'info' });
  const upRatio = up !== undefined && openssl ? up / openssl : undefined;
  const checksumOk = get('transfers.upload_checksum_ok');
  add({
    section,
    figure: 'daemon upload (PUT …/file)',
    value: `${fmt(up, 0, ' MiB/s')} = ${fmt(upRatio, 2, '×')} openssl`,
    target: '≥ 0.80× openssl',
    verdict: verdict(upRatio !== undefined, (upRatio ?? 0) >= 0.8 && checksumOk !== false),
    ...(checksumOk === false ? { note: 'checksum in the answer does not match openssl sha256 of the file' } : {}),
  });
  const downRatio = down !== undefined && nginx ? down / nginx : undefined;
  add({
    section,
    figure: 'daemon download (GET …/file)',
    value: `${fmt(down, 0, ' MiB/s')} = ${fmt(downRatio, 2, '×')} nginx`,
    target: '≥ 0.80× nginx',
    verdict: verdict(downRatio !== undefined, (downRatio ?? 0) >= 0.8),
  });
  const rssReady = num('transfers.daemon_rss_ready_kb');
  add({
    section,
    figure: 'daemon RSS at ready (10 images)',
    value: fmt(rssReady === undefined ? undefined : (rssReady * 1024) / MB, 1, ' MB'),
    target: '',
    verdict: 'info',
  });
  const hwm = num('transfers.daemon_hwm_kb');
  const sampled = num('transfers.daemon_rss_max_kb');
  const peak = hwm === undefined && sampled === undefined ? undefined : Math.max(hwm ?? 0, sampled ?? 0);
  add({
    section,
    figure: 'daemon peak memory (VmHWM)',
    value: `${fmt(peak === undefined ? undefined : (peak * 1024) / MB, 1, ' MB')} (sampled VmRSS max ${fmt(
      sampled === undefined ? undefined : (sampled * 1024) / MB,
      1,
      ' MB',
    )})`,
    target: '< 200 MB',
    // only meaningful when a transfer went through the daemon
    verdict: verdict(peak !== undefined && (up !== undefined || down !== undefined), (peak ?? Infinity) * 1024 < 200 * MB),
  });
}

// ---- print ------------------------------------------------------------------------------------
const errors = (get('errors') as Json[] | undefined) ?? [];
const meta = (get('meta') as { [k: string]: Json } | undefined) ?? {};
const counts = { PASS: 0, MISS: 0, 'n/a': 0 };
for (const c of checks) if (c.verdict !== 'info') counts[c.verdict]++;

const out: string[] = [];
out.push('');
out.push(`VISOR benchmark — ${meta.mode === 'quick' ? 'QUICK mode (smoke test; targets are for the full run)' : 'full run'}`);
out.push(
  `${String(meta.date ?? '')}  node ${String(meta.node ?? '?')}  ${String(meta.cpus ?? '?')} cpus  ${String(meta.cpu_model ?? '')}`,
);
out.push(`wrk ${String(meta.wrk_args ?? '')}; daemon log level ${String(meta.visor_log_level ?? 'default')}`);
const wFig = Math.max(...checks.map((c) => c.figure.length), 10);
const wVal = Math.max(...checks.map((c) => c.value.length), 10);
const wTgt = Math.max(...checks.map((c) => c.target.length), 6);
let section = '';
for (const c of checks) {
  if (c.section !== section) {
    section = c.section;
    out.push('');
    out.push(section);
  }
  const v = c.verdict === 'info' ? '' : c.verdict;
  out.push(
    `  ${c.figure.padEnd(wFig)}  ${c.value.padEnd(wVal)}  ${c.target.padEnd(wTgt)}  ${v}${c.note ? `  (${c.note})` : ''}`,
  );
}
out.push('');
if (errors.length > 0) {
  out.push('Problems during the run:');
  for (const e of errors) out.push(`  - ${typeof e === 'string' ? e : JSON.stringify(e)}`);
  out.push('');
}
out.push(`Targets: ${counts.PASS} PASS, ${counts.MISS} MISS, ${counts['n/a']} not measured`);
out.push(`Results: ${outPath}`);
process.stdout.write(`${out.join('\n')}\n`);

mkdirSync(dirname(outPath), { recursive: true });
writeFileSync(outPath, `${JSON.stringify({ ...data, checks, summary: counts }, null, 2)}\n`);

if (process.env.BENCH_STRICT === '1' && (counts.MISS > 0 || counts['n/a'] > 0)) process.exit(1);

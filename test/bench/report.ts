/**
 * Builds the benchmark report from the metrics run.sh collected: prints a table of every figure
 * beside its ceiling measured in the same run (node:http for reads, a bare node:http receiver and
 * stream for transfers; dd, openssl and nginx as context), its target and PASS/MISS, and writes the
 * whole thing as JSON.
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
const READ_OF_BASELINE = 0.5;
const READ_P99 = 10;
const READY_MS = 3000;
const RSS_READY_MB = 250;
const baselineRps = num('reads.baseline.wrk.requests_per_sec');
add({
  section: 'Reads ceiling (same run)',
  figure: 'node:http, fixed 100-byte body',
  value: `${fmt(baselineRps, 0, ' req/s')}, p99 ${fmt(num('reads.baseline.wrk.latency_ms.p99'), 2, ' ms')}`,
  target: '',
  verdict: 'info',
});
const secs = (ms: number | undefined): string => fmt(ms === undefined ? undefined : ms / 1000, 2, ' s');
const mbOfKb = (kb: number | undefined, digits = 1): string => fmt(kb === undefined ? undefined : (kb * 1024) / MB, digits, ' MB');

/** The daemon's CPU by thread, when recorded: other threads are mostly the scan's workers, ended by ready. */
function threadsNote(key: string): string {
  const main = num(`${key}.main_thread_cpu_ms`);
  if (main === undefined) return '';
  return `; main thread ${secs(main)}, other threads (the scan's workers) ${secs(num(`${key}.other_threads_cpu_ms`))}, V8's platform threads (GC helpers, compiler) ${secs(num(`${key}.v8_platform_cpu_ms`))}, libuv's pool ${secs(num(`${key}.libuv_pool_cpu_ms`))}`;
}

/** Where a start's time went: the daemon's CPU, its git commands', the benchmark's polling, the rest of the machine. */
function startNote(key: string): string | undefined {
  const cpu = num(`${key}.daemon_cpu_ms`);
  if (cpu === undefined) return undefined;
  const busy = num(`${key}.machine_busy_ms`) ?? 0;
  const git = num(`${key}.git_cpu_ms`) ?? 0;
  const harness = num(`${key}.harness_cpu_ms`) ?? 0;
  const others = Math.max(0, busy - cpu - git - harness);
  const read = num(`${key}.disk_read_bytes`);
  const records = num(`${key}.cached_records`);
  const pack = num(`${key}.cached_pack`);
  const parts = [
    `catalogue in page cache: records ${fmt(records === undefined ? undefined : records * 100, 0, '%')}, pack ${fmt(pack === undefined ? undefined : pack * 100, 0, '%')}`,
    `daemon CPU ${secs(cpu)} (kernel ${secs(num(`${key}.daemon_sys_ms`))}${threadsNote(key)})`,
    `git ${secs(git)}`,
    `polling ${secs(harness)}`,
    `other processes ${secs(others)}`,
    `iowait ${secs(num(`${key}.iowait_ms`))}`,
    `disk reads ${fmt(read === undefined ? undefined : read / MB, 0, ' MB')}`,
  ];
  const top = get(`${key}.others_top`);
  if (Array.isArray(top) && top.length > 0) {
    const named = top.flatMap((p) =>
      p !== null && typeof p === 'object' && !Array.isArray(p) && typeof p.cpu_ms === 'number' ? [`${String(p.comm)} ${secs(p.cpu_ms)}`] : [],
    );
    parts.push(`most CPU besides: ${named.join(', ')}`);
  }
  const load = num(`${key}.before.load1`);
  const busyBefore = num(`${key}.before.busy_cores`);
  const ours = get(`${key}.before.bench_processes`);
  if (load !== undefined) {
    parts.push(`before: load ${fmt(load, 2)}, ${fmt(busyBefore, 2)} cores busy, benchmark processes still running: ${typeof ours === 'string' && ours ? ours : 'none'}`);
  }
  const timeline = get(`${key}.timeline`);
  if (Array.isArray(timeline)) {
    const events = timeline.flatMap((e) => {
      if (e === null || typeof e !== 'object' || Array.isArray(e)) return [];
      const at = typeof e.at_ms === 'number' ? e.at_ms : undefined;
      const msg = typeof e.msg === 'string' ? e.msg : '';
      if (at === undefined || !/loaded|creating|ready/.test(msg)) return [];
      const took = typeof e.ms === 'number' ? ` in ${fmt(e.ms)} ms` : '';
      return [`${typeof e.scope === 'string' ? `${e.scope} ` : ''}${msg}${took} at ${fmt(at)} ms`];
    });
    if (events.length > 0) parts.push(`log: ${events.join('; ')}`);
  }
  return parts.join(', ');
}

for (const size of ['small', 'large'] as const) {
  const n = sizes[size];
  const label = n === undefined ? size : `${n.toLocaleString('en-US')} images`;
  const gated = size === 'large';
  const section = `Reads @ ${label}`;
  const ready = num(`reads.${size}.ready_ms`);
  const note = startNote(`reads.${size}.first_start`);
  const floor = num(`reads.${size}.bare_scan.ms`);
  const keepFloor = num(`reads.${size}.bare_keep.ms`);
  const startRatios = [
    ready !== undefined && floor ? `${fmt(ready / floor, 2)}× the floor` : '',
    ready !== undefined && keepFloor ? `${fmt(ready / keepFloor, 2)}× the floor with every record kept` : '',
  ].filter(Boolean);
  add({
    section,
    figure: 'first start to ready (no index snapshot)',
    value: `${secs(ready)}${startRatios.length > 0 ? ` (${startRatios.join(', ')})` : ''}`,
    target: gated ? `< ${READY_MS / 1000} s` : '',
    verdict: gated ? verdict(ready !== undefined, (ready ?? Infinity) < READY_MS) : 'info',
    ...(note ? { note } : {}),
  });
  if (floor !== undefined) {
    add({
      section,
      figure: 'first start\'s floor: read and parse every record file, two threads, nothing else (same run)',
      value: `${secs(floor)} (CPU ${secs(num(`reads.${size}.bare_scan.cpu_ms`))})`,
      target: '',
      verdict: 'info',
    });
  }
  if (keepFloor !== undefined) {
    add({
      section,
      figure: 'the floor with every record kept: both catalogues read, parsed and held as objects in one heap, two threads (same run)',
      value: `${secs(keepFloor)} (CPU ${secs(num(`reads.${size}.bare_keep.cpu_ms`))}, ${fmt(num(`reads.${size}.bare_keep.records`))} records)`,
      target: '',
      verdict: 'info',
    });
  }
  for (const [key, figure] of [
    ['first_start_again', 'first start again, same catalogue (as measured alone)'],
    ['first_start_cold', 'first start, catalogue not in the page cache'],
    ['later_start', 'later start (index snapshot)'],
  ] as const) {
    const ms = num(`reads.${size}.${key}.ready_ms`);
    if (ms === undefined) continue;
    const again = startNote(`reads.${size}.${key}`);
    add({ section, figure, value: secs(ms), target: '', verdict: 'info', ...(again ? { note: again } : {}) });
  }
  const stop = num(`reads.${size}.stop_ms`);
  if (stop !== undefined) add({ section, figure: 'stop (writes the index snapshot)', value: secs(stop), target: '', verdict: 'info' });
  const rss = num(`reads.${size}.rss_ready_kb`);
  const anon = num(`reads.${size}.rss_anon_ready_kb`);
  const perImage = rss !== undefined && n ? (rss * 1024) / n / 1000 : undefined;
  add({
    section,
    figure: 'RSS at ready',
    value: `${mbOfKb(rss)} (${fmt(perImage, 1, ' KB')} an image; anonymous ${mbOfKb(anon)}, files ${mbOfKb(num(`reads.${size}.rss_file_ready_kb`))})`,
    target: gated ? `≤ ${RSS_READY_MB} MB` : '',
    verdict: gated ? verdict(rss !== undefined, (rss ?? Infinity) * 1024 <= RSS_READY_MB * MB) : 'info',
  });
  add({ section, figure: 'peak RSS (VmHWM) after reads', value: mbOfKb(num(`reads.${size}.hwm_after_kb`)), target: '', verdict: 'info' });
  for (const ep of endpoints) {
    const base = `reads.${size}.wrk.${ep.key}`;
    const rps = num(`${base}.requests_per_sec`);
    const p50 = num(`${base}.latency_ms.p50`);
    const p99 = num(`${base}.latency_ms.p99`);
    const bad = (num(`${base}.non_2xx_3xx`) ?? 0) + (num(`${base}.socket_errors.connect`) ?? 0) +
      (num(`${base}.socket_errors.read`) ?? 0) + (num(`${base}.socket_errors.write`) ?? 0) +
      (num(`${base}.socket_errors.timeout`) ?? 0);
    // Beside the baseline run just before it, in the median of five such pairs: the machine drifts
    // and stalls within a run (the same bare server did 26,900-40,700 req/s within two minutes);
    // else beside the run's first baseline.
    const paired = num(`reads.${size}.pairs.${ep.key}.baseline_rps`);
    const ratios = get(`reads.${size}.pairs.${ep.key}.ratios`) as number[] | undefined;
    const beside = paired ?? baselineRps;
    const ratio = rps !== undefined && beside ? rps / beside : undefined;
    const measured = rps !== undefined && p99 !== undefined && ratio !== undefined;
    const ok = measured && rps >= READ_RPS && ratio >= READ_OF_BASELINE && p99 <= READ_P99 && bad === 0;
    add({
      section,
      figure: ep.label,
      value: `${fmt(rps, 0, ' req/s')} = ${fmt(ratio, 2, '×')} node:http${paired ? ` (${fmt(paired, 0)} beside it; pairs ${(ratios ?? []).map((r) => r.toFixed(2)).join(', ')})` : ''}, p50 ${fmt(p50, 2, ' ms')}, p99 ${fmt(p99, 2, ' ms')}`,
      target: gated ? `≥ ${READ_RPS.toLocaleString('en-US')} req/s, ≥ ${READ_OF_BASELINE.toFixed(2)}× node:http, p99 ≤ ${READ_P99} ms` : '',
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
  const UPLOAD_OF_BARE = 0.9;
  const DOWNLOAD_OF_BARE = 1.0;
  const TRANSFER_ADDS_MB = 50;
  const mib = num('meta.file_mib');
  const section = `Transfers (${mib === undefined ? '?' : mib >= 1024 ? `${mib / 1024} GiB` : `${mib} MiB`} file, best of 2, same curl command)`;
  const dd = num('transfers.dd_mib_s');
  const openssl = num('transfers.openssl_mib_s');
  const bareUp = num('transfers.bare_upload_mib_s');
  const bare64k = num('transfers.bare_download_64k_mib_s');
  const bare1m = num('transfers.bare_download_1m_mib_s');
  const bareDown = bare64k === undefined && bare1m === undefined ? undefined : Math.max(bare64k ?? 0, bare1m ?? 0);
  const nginx = num('transfers.nginx_mib_s');
  const up = num('transfers.upload_mib_s');
  const down = num('transfers.download_mib_s');
  const ratio = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b ? a / b : undefined);
  const rate = (v: number | undefined): string => fmt(v, 0, ' MiB/s');
  add({ section, figure: 'context: dd bs=8M conv=fdatasync (the disk alone)', value: rate(dd), target: '', verdict: 'info' });
  add({ section, figure: 'context: openssl dgst -sha256 (the hash alone)', value: rate(openssl), target: '', verdict: 'info' });
  add({
    section,
    figure: 'ceiling: bare node:http receiver (sha256, fdatasync)',
    value: `${rate(bareUp)} = ${fmt(ratio(bareUp, dd), 2, '×')} dd, ${fmt(ratio(bareUp, openssl), 2, '×')} openssl`,
    target: '',
    verdict: 'info',
    note: `peak RSS ${mbOfKb(num('transfers.bare_receiver_hwm_kb'))}`,
  });
  const upRatio = ratio(up, bareUp);
  const checksumOk = get('transfers.upload_checksum_ok');
  add({
    section,
    figure: 'daemon upload (PUT …/file)',
    value: `${rate(up)} = ${fmt(upRatio, 2, '×')} bare receiver (${fmt(ratio(up, openssl), 2, '×')} openssl)`,
    target: `≥ ${UPLOAD_OF_BARE.toFixed(2)}× bare receiver`,
    verdict: verdict(upRatio !== undefined, (upRatio ?? 0) >= UPLOAD_OF_BARE && checksumOk !== false),
    ...(checksumOk === false ? { note: 'checksum in the answer does not match openssl sha256 of the file' } : {}),
  });
  add({ section, figure: 'context: nginx download (sendfile)', value: rate(nginx), target: '', verdict: 'info' });
  add({
    section,
    figure: 'ceiling: bare node:http stream (createReadStream)',
    value: `${rate(bareDown)} = ${fmt(ratio(bareDown, nginx), 2, '×')} nginx`,
    target: '',
    verdict: 'info',
    note: `the better of 64 KiB reads ${rate(bare64k)} and 1 MiB reads ${rate(bare1m)}`,
  });
  const downRatio = ratio(down, bareDown);
  add({
    section,
    figure: 'daemon download (GET …/file)',
    value: `${rate(down)} = ${fmt(downRatio, 2, '×')} bare stream (${fmt(ratio(down, nginx), 2, '×')} nginx)`,
    target: `≥ ${DOWNLOAD_OF_BARE.toFixed(2)}× bare stream`,
    verdict: verdict(downRatio !== undefined, (downRatio ?? 0) >= DOWNLOAD_OF_BARE),
  });
  // The peak during the transfers: VmHWM reset at ready when the kernel allows it (else it also
  // holds the start's peak), and the sampled VmRSS maximum.
  const rssReady = num('transfers.daemon_rss_ready_kb');
  const hwm = num('transfers.daemon_hwm_kb');
  const sampled = num('transfers.daemon_rss_max_kb');
  const reset = get('transfers.daemon_hwm_reset') === true;
  const peak = hwm === undefined && sampled === undefined ? undefined : Math.max(hwm ?? 0, sampled ?? 0);
  const added = peak !== undefined && rssReady !== undefined ? ((peak - rssReady) * 1024) / MB : undefined;
  add({
    section,
    figure: 'daemon memory added by the transfers',
    value: `${fmt(added, 1, ' MB')} (peak ${mbOfKb(peak)}${reset ? '' : ', VmHWM since start'}; ready ${mbOfKb(rssReady)}; sampled max ${mbOfKb(sampled)})`,
    target: `< ${TRANSFER_ADDS_MB} MB`,
    // only meaningful when a transfer went through the daemon
    verdict: verdict(added !== undefined && (up !== undefined || down !== undefined), (added ?? Infinity) < TRANSFER_ADDS_MB),
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
const loads = meta.loadavg;
if (loads && typeof loads === 'object' && !Array.isArray(loads)) {
  out.push(`load average before each part (figures mean little on a busy machine): ${Object.entries(loads).map(([k, v]) => `${k} ${String(v)}`).join('; ')}`);
}
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
  // A long note (where a start's time went) goes on its own line under its figure.
  const long = (c.note?.length ?? 0) > 60;
  out.push(
    `  ${c.figure.padEnd(wFig)}  ${c.value.padEnd(wVal)}  ${c.target.padEnd(wTgt)}  ${v}${c.note && !long ? `  (${c.note})` : ''}`.trimEnd(),
  );
  if (c.note && long) out.push(`      ${c.note}`);
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

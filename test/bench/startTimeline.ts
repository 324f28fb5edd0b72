/**
 * One daemon start as the benchmark records it: the figures run.sh measured (key=value, numbers),
 * the daemon's own log lines on a timeline from the spawn, so a slow start shows which part was
 * slow (the private catalogue's creation, the shared catalogue's scan, what came after), and the
 * other processes that used the CPU meanwhile.
 *
 *   node test/bench/startTimeline.ts DAEMON_LOG SPAWN_EPOCH_MS [--procs BEFORE AFTER --exclude PID,...] key=value...
 *
 * BEFORE and AFTER hold "pid ppid ticks comm" lines (run.sh's proc_cpu_snapshot, ticks of 10 ms of
 * a process's own CPU) taken around the start; the processes whose CPU grew most, other than the
 * excluded ones (the daemon, the benchmark's shell), are listed.
 * Prints one JSON object: {"ready_ms": ..., ..., "others_top": [{"comm", "pid", "cpu_ms"}],
 * "timeline": [{"at_ms", "msg", "scope"?, "ms"?}]}. Log lines that are not JSON are left out.
 */
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const [logPath, spawnArg] = args;
const spawnMs = Number(spawnArg);
if (!logPath || !Number.isFinite(spawnMs)) {
  process.stderr.write('usage: startTimeline.ts DAEMON_LOG SPAWN_EPOCH_MS [--procs BEFORE AFTER --exclude PID,...] key=value...\n');
  process.exit(2);
}

const figures: Record<string, number | null> = {};
let procs: [string, string] | undefined;
const excluded = new Set<string>();
for (let i = 2; i < args.length; i++) {
  const arg = args[i] as string;
  if (arg === '--procs') {
    procs = [args[++i] ?? '', args[++i] ?? ''];
    continue;
  }
  if (arg === '--exclude') {
    for (const pid of (args[++i] ?? '').split(',')) excluded.add(pid);
    continue;
  }
  const eq = arg.indexOf('=');
  if (eq <= 0) continue;
  // an empty value is a figure that could not be taken: unknown, not 0
  const text = arg.slice(eq + 1);
  const value = text === '' ? Number.NaN : Number(text);
  figures[arg.slice(0, eq)] = Number.isFinite(value) ? value : null;
}

/** pid → [ticks, comm] */
function readProcs(path: string): Map<string, [number, string]> {
  const table = new Map<string, [number, string]>();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return table;
  }
  for (const line of text.split('\n')) {
    const [pid, , ticks, comm] = line.split(' ');
    if (pid && ticks && comm) table.set(pid, [Number(ticks), comm]);
  }
  return table;
}

const othersTop: Array<{ comm: string; pid: number; cpu_ms: number }> = [];
if (procs) {
  const before = readProcs(procs[0]);
  for (const [pid, [ticks, comm]] of readProcs(procs[1])) {
    if (excluded.has(pid)) continue;
    // a process started during the start: all its CPU is the start's
    const grew = ticks - (before.get(pid)?.[0] ?? 0);
    if (grew > 0) othersTop.push({ comm, pid: Number(pid), cpu_ms: grew * 10 });
  }
  othersTop.sort((a, b) => b.cpu_ms - a.cpu_ms);
  othersTop.splice(5);
  // Node names its main thread "MainThread": the command line says which program it is, if it still runs.
  for (const p of othersTop) p.comm = commandOf(p.pid) ?? p.comm;
}

/** A short command line: each argument's last path segment, at most 60 characters. */
function commandOf(pid: number): string | undefined {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    if (argv.length === 0) return undefined;
    const short = argv.map((a) => a.slice(a.lastIndexOf('/') + 1)).join(' ');
    return short.length > 60 ? `${short.slice(0, 59)}…` : short;
  } catch {
    return undefined;
  }
}

interface Event {
  at_ms: number;
  msg: string;
  scope?: string;
  ms?: number;
}
const timeline: Event[] = [];
for (const line of readFileSync(logPath, 'utf8').split('\n')) {
  if (!line.startsWith('{')) continue;
  let entry: { time?: unknown; msg?: unknown; scope?: unknown; ms?: unknown };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    continue;
  }
  if (typeof entry.time !== 'number' || typeof entry.msg !== 'string') continue;
  timeline.push({
    at_ms: entry.time - spawnMs,
    msg: entry.msg,
    ...(typeof entry.scope === 'string' ? { scope: entry.scope } : {}),
    ...(typeof entry.ms === 'number' ? { ms: entry.ms } : {}),
  });
}
process.stdout.write(`${JSON.stringify({ ...figures, ...(procs ? { others_top: othersTop } : {}), timeline })}\n`);

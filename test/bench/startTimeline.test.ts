/**
 * How the benchmark records a daemon start (startTimeline.ts): the figures it was given, the daemon's
 * JSON log lines on a timeline from the spawn, and the other processes that used the CPU meanwhile.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = join(import.meta.dirname, 'startTimeline.ts');

test('a start: numeric figures, log lines on a timeline from the spawn, the busiest other processes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'start-timeline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const spawnMs = 1_000_000;
  await writeFile(
    join(dir, 'daemon.log'),
    [
      JSON.stringify({ level: 30, time: spawnMs + 800, scope: 'private', msg: 'creating a new catalogue' }),
      JSON.stringify({ level: 30, time: spawnMs + 4500, scope: 'shared', ms: 3600, msg: 'catalogue loaded' }),
      '',
      'VISOR admin token (shown once): visor_secret',
      JSON.stringify({ level: 30, time: spawnMs + 4700, msg: 'visor daemon ready' }),
      '',
    ].join('\n'),
  );
  // pid ppid ticks comm: 7 is the daemon (excluded), 20 grew by 150 ticks, 21 by 3, 30 started meanwhile, 40 did not run
  await writeFile(join(dir, 'before'), ['7 1 10 MainThread', '20 1 100 busy', '21 1 50 light', '40 1 9 idle', ''].join('\n'));
  await writeFile(join(dir, 'after'), ['7 1 900 MainThread', '20 1 250 busy', '21 1 53 light', '30 1 12 newcomer', '40 1 9 idle', ''].join('\n'));

  const { stdout } = await run(process.execPath, [
    script,
    join(dir, 'daemon.log'),
    String(spawnMs),
    '--procs',
    join(dir, 'before'),
    join(dir, 'after'),
    '--exclude',
    '7,99',
    'ready_ms=4710',
    'daemon_cpu_ms=7800',
    'cached_records=',
  ]);
  const start = JSON.parse(stdout) as Record<string, unknown>;

  t.is(start.ready_ms, 4710);
  t.is(start.daemon_cpu_ms, 7800);
  t.is(start.cached_records, null, 'an empty figure is recorded as unknown, not as 0');
  t.deepEqual(start.timeline, [
    { at_ms: 800, msg: 'creating a new catalogue', scope: 'private' },
    { at_ms: 4500, msg: 'catalogue loaded', scope: 'shared', ms: 3600 },
    { at_ms: 4700, msg: 'visor daemon ready' },
  ]);
  // ordered by CPU used during the start; the excluded daemon and the idle process are left out
  const top = start.others_top as Array<{ pid: number; cpu_ms: number }>;
  t.deepEqual(
    top.map(({ pid, cpu_ms }) => ({ pid, cpu_ms })),
    [
      { pid: 20, cpu_ms: 1500 },
      { pid: 30, cpu_ms: 120 },
      { pid: 21, cpu_ms: 30 },
    ],
  );
});

test('without process snapshots a start has no list of other processes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'start-timeline-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'daemon.log'), '');
  const { stdout } = await run(process.execPath, [script, join(dir, 'daemon.log'), '0', 'ready_ms=100']);
  t.deepEqual(JSON.parse(stdout), { ready_ms: 100, timeline: [] });
});

/**
 * The README's tour cannot go stale: every ```sh block under "A five-minute tour" is run, in order, in
 * one real bash with `set -euo pipefail`, against a real daemon on loopback whose data directory is
 * where `npm start` puts it (~/.local/share/visor, under a throwaway HOME), with only the environment
 * the README tells the reader to set. Two stand-ins, both for speed and isolation: the daemon's
 * address (a free port, not 4568, which another daemon may hold) replaces http://127.0.0.1:4568, and
 * `npx visor` runs the checkout's CLI sources directly (test/cli.firstHour.test.ts checks `npx visor` itself).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';

const ROOT = resolve(import.meta.dirname, '..');
const VISOR = resolve(ROOT, 'src/cli/visor.ts');
const TOUR_HEADING = '## A five-minute tour';

/** The tour's shell blocks, in order. */
function tourCommands(readme: string): string[] {
  const start = readme.indexOf(`\n${TOUR_HEADING}\n`);
  if (start < 0) throw new Error(`README.md has no "${TOUR_HEADING}" section`);
  const end = readme.indexOf('\n## ', start + TOUR_HEADING.length + 2);
  const tour = readme.slice(start, end < 0 ? undefined : end);
  return [...tour.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

test("every shell command in the README's tour runs as written", async (t) => {
  const blocks = tourCommands(await readFile(resolve(ROOT, 'README.md'), 'utf8'));
  t.true(blocks.length >= 3, 'the tour has its set-up, CLI and curl blocks');

  const home = await mkdtemp(join(tmpdir(), 'visor-readme-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const work = join(home, 'work');
  await mkdir(work);
  const d = await startTestDaemon({ dataDir: join(home, '.local/share/visor') });
  t.teardown(() => d.stop());

  const script = [
    'set -euo pipefail',
    `npx() { if [ "$1" = visor ]; then shift; "${process.execPath}" "${VISOR}" "$@"; else command npx "$@"; fi; }`,
    ...blocks.map((block) => block.replaceAll('http://127.0.0.1:4568', d.url)),
  ].join('\n');
  const child = spawn('bash', ['--norc', '--noprofile', '-x', '-c', script], {
    cwd: work,
    env: { PATH: process.env['PATH'] ?? '', HOME: home, PS4: '+ readme: ' },
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  t.is(code, 0, `the tour stopped at the last command shown:\n${output.slice(-3000)}`);
  t.regex(output, /logged in to .* as admin/);
});

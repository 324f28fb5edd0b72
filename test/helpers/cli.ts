/**
 * The one way tests run the `visor` command line: as a user would, in a child process, with an
 * environment made of PATH, a private HOME and what the test sets, and nothing else. The tests'
 * own environment is not passed on, so a developer's VISOR_* variables, config file or git
 * identity cannot change what a test sees.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DaemonAddress } from './http.ts';

const VISOR = resolve(import.meta.dirname, '../../src/cli/visor.ts');
/** A CLI command that hangs fails its test instead of the whole run. */
const TIME_LIMIT_MS = 60_000;

/** What one run of the CLI left behind. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes, for commands that write image data there. */
  stdoutBytes: Buffer;
}

export interface CliOptions {
  /** Variables on top of PATH and HOME (a fresh empty directory unless given); undefined leaves one out. */
  env?: Record<string, string | undefined>;
  /** Defaults to the HOME directory, so files the command writes land in a throwaway place. */
  cwd?: string;
  stdin?: Buffer;
}

/** Runs `visor <args>` with Node (the one running the tests, which runs TypeScript as it is). */
export async function runVisor(args: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const ownHome = options.env?.['HOME'] === undefined ? await mkdtemp(join(tmpdir(), 'visor-cli-home-')) : undefined;
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ PATH: process.env['PATH'], HOME: ownHome, ...options.env })) if (value !== undefined) env[name] = value;
  try {
    const child = spawn(process.execPath, [VISOR, ...args], { cwd: options.cwd ?? env['HOME'], env, stdio: 'pipe', timeout: TIME_LIMIT_MS });
    child.stdin.end(options.stdin);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const code = await new Promise<number | null>((done, fail) => {
      child.on('error', fail);
      child.on('close', done);
    });
    const stdoutBytes = Buffer.concat(stdout);
    return { code, stdout: stdoutBytes.toString(), stderr: Buffer.concat(stderr).toString(), stdoutBytes };
  } finally {
    if (ownHome) await rm(ownHome, { recursive: true, force: true });
  }
}

/** Runs `visor --json <args>`, expects exit 0 and answers the parsed stdout. */
export async function runVisorJson<T>(args: readonly string[], options?: CliOptions): Promise<T> {
  const run = await runVisor(['--json', ...args], options);
  if (run.code !== 0) throw new Error(`visor ${args.join(' ')} exited ${String(run.code)}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** The CLI pointed at a daemon (VISOR_URL, and its admin token as VISOR_TOKEN) unless a test's env says otherwise. */
export function visorAt(d: DaemonAddress): { run: typeof runVisor; json: typeof runVisorJson } {
  const at = (options: CliOptions = {}): CliOptions => ({ ...options, env: { VISOR_URL: d.url, VISOR_TOKEN: d.token, ...options.env } });
  return {
    run: (args, options) => runVisor(args, at(options)),
    json: (args, options) => runVisorJson(args, at(options)),
  };
}

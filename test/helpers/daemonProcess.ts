/**
 * The daemon as operators run it: `visor serve --config <file>` in a process of its own, for tests
 * of what only a real process shows (signals, exit codes, kill -9, what it leaves running). The
 * environment is PATH and HOME only, as in the CLI runner (test/helpers/cli.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const VISOR = resolve(import.meta.dirname, '../../daemon/visor.ts');

/** How a daemon process ended, and when. */
export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When it ended (Date.now()). */
  at: number;
}

export interface DaemonProcess {
  child: ChildProcess;
  pid: number;
  /** What it printed so far: the structured log (stdout) and its notes and errors (stderr). */
  stdout(): string;
  stderr(): string;
  /** Settles when the process has ended. */
  exited: Promise<DaemonExit>;
  /** Its end; if it is still running after `ms`, it is killed (SIGKILL) and this rejects, saying so. */
  exitWithin(ms: number): Promise<DaemonExit>;
  /** Resolves with its URL once it says it serves; rejects if it ends first or not within the limit. */
  serving(withinMs?: number): Promise<string>;
}

/** Starts `visor serve --config <configFile>` (Node running the TypeScript sources, as the tests do). */
export function spawnDaemon(configFile: string): DaemonProcess {
  const child = spawn(process.execPath, [VISOR, 'serve', '--config', configFile], {
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'] },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<DaemonExit>((done) => child.once('exit', (code, signal) => done({ code, signal, at: Date.now() })));
  const serving = (withinMs = 30_000): Promise<string> =>
    new Promise<string>((ready, fail) => {
      const look = (): void => {
        const found = /serving on (https?:\/\/\S+)/.exec(err);
        if (found) {
          stop();
          ready(found[1]!);
        }
      };
      const timer = setTimeout(() => {
        stop();
        fail(new Error(`no start within ${withinMs} ms: ${err}`));
      }, withinMs);
      const ended = (): void => {
        stop();
        fail(new Error(`the daemon exited before serving: ${err}`));
      };
      const stop = (): void => {
        clearTimeout(timer);
        child.stderr!.off('data', look);
        child.off('exit', ended);
      };
      child.stderr!.on('data', look);
      child.once('exit', ended);
      look();
    });
  const exitWithin = async (ms: number): Promise<DaemonExit> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((done) => (timer = setTimeout(done, ms, undefined)));
    const end = await Promise.race([exited, late]);
    clearTimeout(timer);
    if (end) return end;
    child.kill('SIGKILL');
    await exited;
    throw new Error(`the daemon was still running ${ms} ms later (killed): ${err}`);
  };
  return { child, pid: child.pid!, stdout: () => out, stderr: () => err, exited, exitWithin, serving };
}

/** The PIDs of a process's descendants, read from /proc (Linux): its git children, say. */
export function descendantsOf(pid: number): number[] {
  const found: number[] = [];
  const visit = (parent: number): void => {
    let children: number[];
    try {
      children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
    } catch {
      return;
    }
    for (const child of children) {
      found.push(child);
      visit(child);
    }
  };
  visit(pid);
  return found;
}

/** A process's command line, or undefined once it is gone. */
export function commandLineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return undefined;
  }
}

import { spawn } from 'node:child_process';

export interface GitResult {
  stdout: string;
  stderr: string;
}

export class GitError extends Error {
  readonly args: readonly string[];
  readonly code: number | null;
  readonly stderr: string;
  constructor(args: readonly string[], code: number | null, stderr: string) {
    super(`git ${args.join(' ')} failed (${code}): ${stderr.trim()}`);
    this.name = 'GitError';
    this.args = args;
    this.code = code;
    this.stderr = stderr;
  }
}

export interface RunOptions {
  input?: string;
  env?: Record<string, string>;
}

/**
 * Runs the real git in one repository. Plumbing (update-index, write-tree, commit-tree, update-ref)
 * goes through here because it needs stdin and per-call environment, which simple-git does not offer.
 */
export class GitRunner {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  run(args: readonly string[], options: RunOptions = {}): Promise<GitResult> {
    return this.exec('git', args, args, options);
  }

  /**
   * Runs git commands one after another in one shell, stopping at the first that fails. The event
   * loop then waits on one process instead of one per command: a first start creates a catalogue
   * while a scan holds that loop. Arguments reach git as the shell's positional parameters, never
   * parsed by the shell.
   */
  runSequence(commands: ReadonlyArray<readonly string[]>, options: RunOptions = {}): Promise<GitResult> {
    const argv: string[] = [];
    const steps = commands.map((args) => ['git', ...args.map((a) => `"\${${argv.push(a)}}"`)].join(' '));
    return this.exec('sh', ['-c', steps.join(' && '), 'sh', ...argv], commands.flatMap((c, i) => (i === 0 ? c : ['&&', ...c])), options);
  }

  private exec(command: string, argv: readonly string[], described: readonly string[], options: RunOptions): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, argv, {
        cwd: this.dir,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...options.env },
        stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout!.on('data', (b: Buffer) => out.push(b));
      child.stderr!.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code) => {
        const result = { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
        if (code === 0) resolve(result);
        else reject(new GitError(described, code, result.stderr));
      });
      if (child.stdin) {
        // A git that exits before reading its input reports through its exit code; EPIPE adds nothing.
        child.stdin.on('error', () => undefined);
        child.stdin.end(options.input);
      }
    });
  }

  async revParse(ref: string): Promise<string | undefined> {
    try {
      return (await this.run(['rev-parse', '--verify', '--quiet', ref])).stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  }
}

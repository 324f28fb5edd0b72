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

/**
 * Runs the real git in one repository. Plumbing (update-index, write-tree, commit-tree, update-ref)
 * goes through here because it needs stdin and per-call environment, which simple-git does not offer.
 */
export class GitRunner {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
  }

  run(args: readonly string[], options: { input?: string; env?: Record<string, string> } = {}): Promise<GitResult> {
    return new Promise((resolve, reject) => {
      const child = spawn('git', args, {
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
        else reject(new GitError(args, code, result.stderr));
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

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface FastImportFile {
  path: string;
  /** New content, or null to delete the file. */
  content: string | null;
}

export interface FastImportCommit {
  /** Full ref name, e.g. refs/heads/main. */
  ref: string;
  /** The commit the ref points at now; undefined for a branch's first commit. */
  parent: string | undefined;
  author: { name: string; email: string };
  committer: { name: string; email: string };
  message: string;
  files: FastImportFile[];
}

interface Waiting {
  resolve: (commit: string) => void;
  reject: (error: Error) => void;
  commit?: string;
  stderrBefore: number;
}

/**
 * Makes commits through one long-lived `git fast-import`: no process start, no index, per commit.
 * It remembers every object it wrote and keeps its packs from repacks (.keep) while it runs, so the
 * caller closes it from time to time; the next commit starts another.
 * A commit is acknowledged after a `checkpoint`, by which time git has written (and, with
 * core.fsync, fsynced) its pack and moved the ref. fast-import moves a ref only forward: a branch
 * moved elsewhere meanwhile is left alone, which the caller detects by reading the ref.
 * Small packs stay packs (unpackLimit=0): one pack and its index per commit cost two fsyncs, where
 * loose objects cost one per object; the caller repacks them from time to time.
 */
export class GitFastImport {
  private readonly dir: string;
  private child: ChildProcessWithoutNullStreams | undefined;
  private waiting: Waiting | undefined;
  private stdout = '';
  private stderr = '';
  /** Bytes fast-import has written to stderr in all: quiet, it says something only when a step failed. */
  private stderrBytes = 0;
  private marks = 0;
  private readonly force: boolean;

  /** force: its refs are scratch refs the caller moves past (signed copies), so it may move them anywhere. */
  constructor(dir: string, options: { force?: boolean } = {}) {
    this.dir = dir;
    this.force = options.force ?? false;
  }

  /** One commit at a time: the caller serialises (CatalogWriter's queue). Resolves with its id. */
  commit(c: FastImportCommit): Promise<string> {
    if (this.waiting) return Promise.reject(new Error('a fast-import commit is already running'));
    const child = this.process();
    const mark = ++this.marks;
    const when = `${Math.floor(Date.now() / 1000)} +0000`;
    const parts: (string | Buffer)[] = [
      `commit ${c.ref}\nmark :${mark}\n`,
      `author ${identity(c.author)} ${when}\ncommitter ${identity(c.committer)} ${when}\n`,
      data(c.message),
    ];
    if (c.parent) parts.push(`from ${c.parent}\n`);
    for (const f of c.files) {
      const path = safePath(f.path);
      if (f.content === null) parts.push(`D ${path}\n`);
      else parts.push(`M 100644 inline ${path}\n`, data(f.content));
    }
    parts.push(`\nget-mark :${mark}\ncheckpoint\nprogress visor-${mark}\n`);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, stderrBefore: this.stderrBytes };
      child.stdin.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
    });
  }

  /** Ends the process once its last checkpoint is written. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    await new Promise<void>((resolve) => {
      child.once('close', () => resolve());
      child.stdin.end();
    });
  }

  private process(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    this.marks = 0;
    this.stdout = '';
    this.stderr = '';
    const child = spawn('git', ['-c', 'fastimport.unpackLimit=0', 'fast-import', '--quiet', '--date-format=raw', ...(this.force ? ['--force'] : [])], {
      cwd: this.dir,
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => this.onOutput(text));
    child.stderr.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString('utf8')).slice(-4000);
      this.stderrBytes += b.length;
    });
    child.stdin.on('error', () => undefined);
    child.on('error', (e) => this.fail(child, e));
    child.on('close', (code) => this.fail(child, new Error(`git fast-import ended (${code}): ${this.stderr.trim()}`)));
    this.child = child;
    return child;
  }

  private onOutput(text: string): void {
    this.stdout += text;
    let eol: number;
    while ((eol = this.stdout.indexOf('\n')) >= 0) {
      const line = this.stdout.slice(0, eol);
      this.stdout = this.stdout.slice(eol + 1);
      const w = this.waiting;
      if (!w) continue;
      if (line.startsWith('progress ')) {
        this.waiting = undefined;
        // A ref or pack it could not write (a full disk, a lock) is reported on stderr, not by exit.
        const said = this.stderrBytes > w.stderrBefore ? this.stderr.slice(-(this.stderrBytes - w.stderrBefore)).trim() : '';
        // With the id of the commit it made, if any: the caller decides by the branch whether it stands.
        if (said) w.reject(Object.assign(new Error(`git fast-import: ${said}`), { commit: w.commit }));
        else if (w.commit) w.resolve(w.commit);
        else w.reject(new Error(`git fast-import gave no commit id: ${this.stderr.trim()}`));
      } else if (/^[0-9a-f]{40,64}$/.test(line)) {
        w.commit = line;
      }
    }
  }

  private fail(child: ChildProcessWithoutNullStreams, error: Error): void {
    // A process replaced or closed on purpose has nothing waiting on it.
    if (this.child !== child) return;
    this.child = undefined;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(error);
  }
}

function data(text: string): Buffer {
  const body = Buffer.from(text, 'utf8');
  return Buffer.concat([Buffer.from(`data ${body.length}\n`), body, Buffer.from('\n')]);
}

/** Names and e-mails may not carry the characters that delimit an ident line. */
function identity(who: { name: string; email: string }): string {
  const clean = (s: string) => s.replace(/[<>\n\r\0]/g, '').trim();
  return `${clean(who.name) || 'unknown'} <${clean(who.email)}>`;
}

function safePath(path: string): string {
  // Catalogue paths are images/<xx>/<uuid>.json; anything fast-import would need quoted is refused.
  if (!/^[A-Za-z0-9._\-/]+$/.test(path) || path.startsWith('/') || path.split('/').includes('..')) {
    throw new Error(`not a catalogue path: ${JSON.stringify(path)}`);
  }
  return path;
}

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
  /** Waiting for the root tree an `ls` prints, not for a checkpoint's progress line. */
  tree?: boolean;
}

/** Where commitSigned builds the unsigned commit: reset right after, so never written as a ref. */
const SCRATCH_REF = 'refs/visor/unsigned';

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

  constructor(dir: string) {
    this.dir = dir;
  }

  /** One commit at a time: the caller serialises (CatalogWriter's queue). Resolves with its id. */
  commit(c: FastImportCommit): Promise<string> {
    if (this.waiting) return Promise.reject(new Error('a fast-import commit is already running'));
    const child = this.process();
    const mark = ++this.marks;
    const parts = commitCommand(c, c.ref, mark, now());
    parts.push(`\nget-mark :${mark}\ncheckpoint\nprogress visor-${mark}\n`);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject, stderrBefore: this.stderrBytes };
      child.stdin.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
    });
  }

  /**
   * A commit that goes on the branch signed (fast-import cannot sign before git 2.49): fast-import
   * builds the tree (on a scratch branch it forgets at once), `writeSigned` gets the commit object
   * it would have made and answers the id of its signed copy, written into the repository; the
   * branch then moves to that copy, forward only, at one checkpoint. Resolves with its id.
   */
  async commitSigned(c: FastImportCommit, writeSigned: (unsigned: Buffer) => Promise<string>): Promise<string> {
    if (this.waiting) throw new Error('a fast-import commit is already running');
    const child = this.process();
    const mark = ++this.marks;
    const when = now();
    const parts = commitCommand(c, SCRATCH_REF, mark, when);
    parts.push(`\nls :${mark} ""\nreset ${SCRATCH_REF}\n\n`);
    const tree = await new Promise<string>((resolve, reject) => {
      this.waiting = { resolve, reject, stderrBefore: this.stderrBytes, tree: true };
      child.stdin.write(Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))));
    });
    // Byte for byte the object fast-import wrote for the scratch branch.
    const unsigned = Buffer.concat([
      Buffer.from(`tree ${tree}\n${c.parent ? `parent ${c.parent}\n` : ''}author ${identity(c.author)} ${when}\ncommitter ${identity(c.committer)} ${when}\n\n`),
      Buffer.from(c.message, 'utf8'),
    ]);
    const signed = await writeSigned(unsigned);
    await this.moveRef(c.ref, signed);
    return signed;
  }

  /**
   * Moves a ref to an existing commit (a signed copy written outside fast-import), forward only: a
   * branch moved elsewhere meanwhile is left alone.
   * Resolves once the ref is written; rejects with what fast-import said otherwise.
   */
  private moveRef(ref: string, to: string): Promise<void> {
    if (this.waiting) return Promise.reject(new Error('a fast-import command is already running'));
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(to)) return Promise.reject(new Error(`not a commit id: ${JSON.stringify(to)}`));
    const child = this.process();
    const mark = ++this.marks;
    return new Promise<string>((resolve, reject) => {
      // No commit id comes back for a reset: the ref's target stands in for it.
      this.waiting = { resolve, reject, stderrBefore: this.stderrBytes, commit: to };
      child.stdin.write(`reset ${safeRef(ref)}\nfrom ${to}\n\ncheckpoint\nprogress visor-${mark}\n`);
    }).then(() => undefined);
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
    const child = spawn('git', ['-c', 'fastimport.unpackLimit=0', 'fast-import', '--quiet', '--date-format=raw'], {
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
      if (w.tree) {
        const tree = /^040000 tree ([0-9a-f]{40,64})\t$/.exec(line)?.[1];
        this.waiting = undefined;
        if (tree) w.resolve(tree);
        else w.reject(new Error(`git fast-import: no root tree for the commit (${line.slice(0, 200)}) ${this.stderr.trim()}`));
      } else if (line.startsWith('progress ')) {
        this.waiting = undefined;
        // A ref or pack it could not write (a full disk, a lock) is reported on stderr, not by exit.
        // git wrote that before this line, but the two pipes are read in no set order: stderr ready
        // by now is read in this same poll phase, so its bytes are counted by the next turn.
        setImmediate(() => {
          const said = this.stderrBytes > w.stderrBefore ? this.stderr.slice(-(this.stderrBytes - w.stderrBefore)).trim() : '';
          // With the id of the commit it made, if any: the caller decides by the branch whether it stands.
          if (said) w.reject(Object.assign(new Error(`git fast-import: ${said}`), { commit: w.commit }));
          else if (w.commit) w.resolve(w.commit);
          else w.reject(new Error(`git fast-import gave no commit id: ${this.stderr.trim()}`));
        });
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

function now(): string {
  return `${Math.floor(Date.now() / 1000)} +0000`;
}

function commitCommand(c: FastImportCommit, ref: string, mark: number, when: string): (string | Buffer)[] {
  const parts: (string | Buffer)[] = [`commit ${ref}\nmark :${mark}\n`, `author ${identity(c.author)} ${when}\ncommitter ${identity(c.committer)} ${when}\n`, data(c.message)];
  if (c.parent) parts.push(`from ${c.parent}\n`);
  for (const f of c.files) {
    const path = safePath(f.path);
    if (f.content === null) parts.push(`D ${path}\n`);
    else parts.push(`M 100644 inline ${path}\n`, data(f.content));
  }
  return parts;
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

function safeRef(ref: string): string {
  if (!/^refs\/[A-Za-z0-9._\-/]+$/.test(ref)) throw new Error(`not a ref name: ${JSON.stringify(ref)}`);
  return ref;
}

function safePath(path: string): string {
  // Catalogue paths are images/<xx>/<uuid>.json; anything fast-import would need quoted is refused.
  if (!/^[A-Za-z0-9._\-/]+$/.test(path) || path.startsWith('/') || path.split('/').includes('..')) {
    throw new Error(`not a catalogue path: ${JSON.stringify(path)}`);
  }
  return path;
}

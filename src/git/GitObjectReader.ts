import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface GitObject {
  oid: string;
  type: 'blob' | 'tree' | 'commit' | 'tag';
  body: Buffer;
}

interface Request {
  spec: string;
  resolve: (value: GitObject | undefined) => void;
  reject: (error: Error) => void;
}

/**
 * Reads objects through one long-lived `git cat-file --batch`: one process for thousands of blobs
 * instead of one process per blob (a spawn costs ~4 ms here, a batched read microseconds).
 */
export class GitObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  // A queue with a head index: shift() on an array of 100,000 waiting reads copies it every time.
  private pending: Request[] = [];
  private head = 0;
  private buffer: Buffer = Buffer.alloc(0);
  private failed: Error | undefined;

  constructor(dir: string, env: NodeJS.ProcessEnv = process.env) {
    this.child = spawn('git', ['cat-file', '--batch'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.drain();
    });
    this.child.stdin.on('error', () => undefined);
    this.child.on('error', (e) => this.fail(e));
    this.child.on('close', () => this.fail(new Error('git cat-file ended')));
  }

  /** An object's content by name (oid, rev:path or :path for the index); undefined when it does not exist. */
  async read(spec: string): Promise<Buffer | undefined> {
    return (await this.object(spec))?.body;
  }

  /** An object with its id and type; undefined when it does not exist. */
  object(spec: string): Promise<GitObject | undefined> {
    if (this.failed) return Promise.reject(this.failed);
    if (/[\n]/.test(spec)) return Promise.reject(new Error('object names cannot contain newlines'));
    return new Promise((resolve, reject) => {
      this.pending.push({ spec, resolve, reject });
      this.child.stdin.write(`${spec}\n`);
    });
  }

  async text(spec: string): Promise<string | undefined> {
    return (await this.read(spec))?.toString('utf8');
  }

  close(): void {
    this.child.stdin.end();
  }

  private next(): Request {
    const r = this.pending[this.head++]!;
    if (this.head === this.pending.length) {
      this.pending = [];
      this.head = 0;
    }
    return r;
  }

  private drain(): void {
    while (this.head < this.pending.length) {
      const eol = this.buffer.indexOf(10);
      if (eol < 0) return;
      const header = this.buffer.subarray(0, eol).toString('utf8');
      if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
        this.buffer = this.buffer.subarray(eol + 1);
        this.next().resolve(undefined);
        continue;
      }
      const [oid = '', type, sizeText] = header.split(' ');
      const size = Number(sizeText);
      if (this.buffer.length < eol + 1 + size + 1) return;
      const body = Buffer.from(this.buffer.subarray(eol + 1, eol + 1 + size));
      this.buffer = this.buffer.subarray(eol + 1 + size + 1);
      this.next().resolve({ oid, type: type as GitObject['type'], body });
    }
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = error;
    for (const p of this.pending.slice(this.head)) p.reject(error);
    this.pending = [];
    this.head = 0;
  }
}

import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AuditEntry } from './AuditEntry.ts';

export const AUDIT_FILE = 'audit.log';

export interface AuditLogOptions {
  dir: string;
  /** The current file is rotated once it grows past this size. */
  maxBytes: number;
  /** Rotated files kept (audit.log.1 newest … audit.log.<keep> oldest); older ones are deleted. */
  keep: number;
  onError?: (error: unknown) => void;
}

/**
 * The append-only record of every API operation (the paper's tracking component), one JSON line per
 * request in `<dir>/audit.log`, kept outside the catalogue and owner-only. Appending never waits on a
 * request: lines are queued and written in order by one writer, several at a time under load. Files
 * are only ever appended to and renamed, never rewritten.
 */
export class AuditLog {
  private readonly o: AuditLogOptions;
  private file: FileHandle | undefined;
  private size = 0;
  private queue: string[] = [];
  private writing: Promise<void> | undefined;

  constructor(options: AuditLogOptions) {
    this.o = options;
  }

  get path(): string {
    return join(this.o.dir, AUDIT_FILE);
  }

  async open(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true, mode: 0o700 });
    await this.openCurrent();
  }

  append(entry: AuditEntry): void {
    this.queue.push(`${JSON.stringify(entry)}\n`);
    this.writing ??= this.drain();
  }

  /** Resolves once everything appended so far is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    await this.flush();
    await this.file?.sync().catch(() => undefined);
    await this.file?.close();
    this.file = undefined;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const lines = this.queue.join('');
        this.queue = [];
        try {
          if (!this.file) await this.openCurrent();
          await this.file!.appendFile(lines);
          this.size += Buffer.byteLength(lines);
          if (this.size >= this.o.maxBytes) await this.rotate();
        } catch (error) {
          // A full or failing disk must not take the API down; the operator is told through the log.
          this.o.onError?.(error);
        }
      }
    } finally {
      // Reached with no await after the queue was seen empty: a line appended later starts a new drain.
      this.writing = undefined;
    }
  }

  private async openCurrent(): Promise<void> {
    this.file = await open(this.path, 'a', 0o600);
    this.size = (await this.file.stat()).size;
  }

  private async rotate(): Promise<void> {
    await this.file?.sync();
    await this.file?.close();
    this.file = undefined;
    const base = this.path;
    await rm(`${base}.${this.o.keep}`, { force: true });
    for (let n = this.o.keep - 1; n >= 1; n--) {
      await rename(`${base}.${n}`, `${base}.${n + 1}`).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
    if (this.o.keep > 0) await rename(base, `${base}.1`);
    else await rm(base, { force: true });
    await this.openCurrent();
  }
}

/** The audit files of a directory, oldest first. */
export async function auditFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const rotated = names
    .map((n) => /^audit\.log\.(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .map((m) => join(dir, m[0]));
  const current = join(dir, AUDIT_FILE);
  const exists = await stat(current).then(() => true, () => false);
  return exists ? [...rotated, current] : rotated;
}

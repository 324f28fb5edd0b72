import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { namesIn } from '../localstate/folderNames.ts';
import { join } from 'node:path';
import type { AuditEntry } from './AuditEntry.ts';
import { unavailable } from '../errors/VisorError.ts';

export const AUDIT_FILE = 'audit.log';

export interface AuditLogOptions {
  dir: string;
  /** The current file is rotated once it grows past this size. */
  maxBytes: number;
  /** Rotated files kept (audit.log.1 newest … audit.log.<keep> oldest); older ones are deleted. */
  keep: number;
  onError?: (error: unknown) => void;
}

/** Entries held in memory while the file cannot be written; past this, they are counted as lost. */
const MAX_HELD = 10_000;

/**
 * The append-only record of every API operation (the paper's tracking component), one JSON line per
 * request in `<dir>/audit.log`, kept outside the catalogue and owner-only. Appending never waits on a
 * request: lines are queued and written in order by one writer, several at a time under load. Files
 * are only ever appended to and renamed, never rewritten.
 *
 * Nothing is dropped silently. Lines that cannot be written (a full disk) are held and written once
 * the file can be; while it cannot, `assertWritable` refuses actions that would change anything, so
 * no change goes unrecorded. Reads go on; should more lines wait than can be held, the file says how
 * many were lost.
 */
export class AuditLog {
  private readonly o: AuditLogOptions;
  private file: FileHandle | undefined;
  private size = 0;
  private queue: string[] = [];
  private writing: Promise<void> | undefined;
  /** Why the last write failed; undefined once one succeeds. */
  private failure: Error | undefined;
  private lost = 0;

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
    if (this.queue.length >= MAX_HELD) this.lost += 1;
    else this.queue.push(`${JSON.stringify(entry)}\n`);
    this.writing ??= this.drain();
  }

  /**
   * Throws (unavailable) while the log cannot be written, after trying once more: an action whose
   * entry could not be written must not happen.
   */
  async assertWritable(): Promise<void> {
    // Lines piling up (a slow disk) are written before more changes are let through, so none is dropped.
    if (!this.failure && this.queue.length < MAX_HELD / 2) return;
    this.writing ??= this.drain();
    await this.flush();
    const failure = this.failure as Error | undefined;
    if (failure) {
      // The code, not the message: a message names paths, and the refusal goes to any caller.
      const code = (failure as NodeJS.ErrnoException).code;
      const reason = code === 'ENOSPC' ? 'its disk is full (no space left on device)' : `its file cannot be written (${code ?? 'an error'})`;
      throw unavailable(`the audit log cannot be written: ${reason}; changes are refused until it can be`, failure);
    }
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
      while (this.queue.length > 0 || this.lost > 0) {
        const held = this.queue;
        const lost = this.lost;
        const lines = (lost > 0 ? `${JSON.stringify({ time: new Date().toISOString(), lost_entries: lost, reason: this.failure?.message ?? 'too many entries waiting' })}\n` : '') + held.join('');
        this.queue = [];
        this.lost = 0;
        try {
          if (!this.file) await this.openCurrent();
          await this.writeWhole(lines);
          this.failure = undefined;
        } catch (error) {
          // Held for the next attempt (the next append, or assertWritable), in order, ahead of newer lines.
          const waiting = [...held, ...this.queue];
          this.queue = waiting.slice(0, MAX_HELD);
          this.lost += lost + Math.max(0, waiting.length - MAX_HELD);
          if (!this.failure) this.o.onError?.(error);
          this.failure = error as Error;
          return;
        }
        if (this.size >= this.o.maxBytes) await this.rotate().catch((error: unknown) => this.o.onError?.(error));
      }
    } finally {
      // Reached with no await after the queue was seen empty: a line appended later starts a new drain.
      this.writing = undefined;
    }
  }

  /**
   * Appends the lines or nothing: a write cut short by a full disk is undone, so that holding the
   * lines and writing them again later does not leave half a line, or a line twice.
   */
  private async writeWhole(lines: string): Promise<void> {
    const file = this.file!;
    try {
      await file.appendFile(lines);
      this.size += Buffer.byteLength(lines);
    } catch (error) {
      await file.truncate(this.size).catch(() => undefined);
      throw error;
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
  const rotated = (await namesIn(dir))
    .map((n) => /^audit\.log\.(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(b[1]) - Number(a[1]))
    .map((m) => join(dir, m[0]));
  const current = join(dir, AUDIT_FILE);
  const exists = await stat(current).then(() => true, () => false);
  return exists ? [...rotated, current] : rotated;
}

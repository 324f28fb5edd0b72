import { readFile, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';

export interface AccessEntry {
  count: number;
  last: string;
}

/**
 * Download counts and last-access times, kept per instance outside the catalogue so a download never
 * costs a commit. Held in memory, written to one file (temporary name, then rename) every
 * `flushMs` when something changed, and on close; a crash loses at most that interval.
 */
export class AccessStats {
  private readonly file: string;
  private readonly entries = new Map<string, AccessEntry>();
  private dirty = false;
  private changes = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(file: string, options: { flushMs?: number } = {}) {
    this.file = file;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, AccessEntry>;
      for (const [id, e] of Object.entries(saved)) this.entries.set(id, e);
    } catch {
      // First start, or an unreadable file: counting starts afresh rather than refusing to serve.
    }
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 2000);
    this.timer.unref();
  }

  /** Grows with every count recorded or forgotten. */
  get version(): number {
    return this.changes;
  }

  get(id: string): AccessEntry | undefined {
    return this.entries.get(id);
  }

  record(id: string, at = new Date()): void {
    const e = this.entries.get(id);
    this.entries.set(id, { count: (e?.count ?? 0) + 1, last: at.toISOString() });
    this.dirty = true;
    this.changes++;
  }

  forget(id: string): void {
    if (!this.entries.delete(id)) return;
    this.dirty = true;
    this.changes++;
  }

  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const temp = `${this.file}.tmp`;
      await writeFile(temp, JSON.stringify(Object.fromEntries(this.entries)), { mode: 0o600 });
      await rename(temp, this.file);
    });
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}

/** Reads a stats file without keeping it open: for reports and tests. */
export async function readAccessStats(file: string): Promise<Record<string, AccessEntry>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, AccessEntry>;
}

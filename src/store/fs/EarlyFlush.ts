import { open, type FileHandle } from 'node:fs/promises';

/** Dirty data worth handing to the disk before the final fsync. */
const FLUSH_EVERY_BYTES = 128 << 20;
const CHECK_EVERY_MS = 100;

/**
 * Flushes a file being written while it is still being written, so that the fsync which publishes
 * it finds little left to do: the disk works during the upload rather than after it. Measured on a
 * 2 GiB upload here: ~330 -> ~420 MiB/s with the final fsync kept. At most one flush is in flight;
 * errors are left to the final fsync, which reports them.
 */
export class EarlyFlush {
  private handle: FileHandle | undefined;
  private flushed = 0;
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private stopped = false;

  constructor(path: string, written: () => number) {
    this.timer = setInterval(() => {
      const bytes = written();
      if (this.flushing || this.stopped || bytes - this.flushed < FLUSH_EVERY_BYTES) return;
      this.flushing = this.flush(path, bytes).finally(() => (this.flushing = undefined));
    }, CHECK_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.flushing;
    await this.handle?.close().catch(() => undefined);
    this.handle = undefined;
  }

  private async flush(path: string, bytes: number): Promise<void> {
    try {
      this.handle ??= await open(path, 'r');
      if (this.stopped) return;
      await this.handle.datasync();
      this.flushed = bytes;
    } catch {
      // Not ours to report: the final fsync sees the same error.
    }
  }
}

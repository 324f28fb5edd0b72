import { unavailable } from '../errors/VisorError.ts';

/**
 * At most `limit` tasks at once, at most `maxQueued` waiting; beyond that callers are turned away at
 * once. Slow key hashes run on libuv's small thread pool, which file I/O shares: a burst of bad keys
 * must not be able to starve uploads and downloads.
 */
export class ConcurrencyLimit {
  private readonly limit: number;
  private readonly maxQueued: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(limit: number, maxQueued: number) {
    this.limit = limit;
    this.maxQueued = maxQueued;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) {
      if (this.waiting.length >= this.maxQueued) throw unavailable('too many API keys are being verified; retry shortly');
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

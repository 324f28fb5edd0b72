import { TooManyRequests, unavailable, type VisorError } from '../errors/VisorError.ts';

export interface ConcurrencyLimitOptions {
  /** Tasks running at once. */
  limit: number;
  /** Tasks waiting, from all clients together. */
  maxQueued: number;
  /** Tasks waiting from one client (default: maxQueued). */
  maxQueuedPerClient?: number;
  /** What a caller turned away is told (default: 503 when all are waiting, 429 when its own share is). */
  refuse?: (scope: 'all' | 'client') => VisorError;
}

const defaultRefusal = (scope: 'all' | 'client'): VisorError =>
  scope === 'all' ? unavailable('too many API keys are being verified; retry shortly') : new TooManyRequests('too many API keys from your address are being verified at once; retry shortly', 1);

/**
 * At most `limit` tasks at once, at most `maxQueued` waiting; beyond that callers are turned away at
 * once. Slow key hashes run on libuv's small thread pool, which file I/O shares: a burst of bad keys
 * must not be able to starve uploads and downloads. Waiting tasks are served round-robin by client,
 * so one client's burst delays another client's task by at most one task per busy client, and a
 * client may hold at most `maxQueuedPerClient` places in the queue.
 */
export class ConcurrencyLimit {
  private readonly limit: number;
  private readonly maxQueued: number;
  private readonly maxQueuedPerClient: number;
  private readonly refuse: (scope: 'all' | 'client') => VisorError;
  private running = 0;
  private queued = 0;
  /** Waiting tasks per client; the Map's order is the round-robin order. */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(options: ConcurrencyLimitOptions) {
    this.limit = options.limit;
    this.maxQueued = options.maxQueued;
    this.maxQueuedPerClient = options.maxQueuedPerClient ?? options.maxQueued;
    this.refuse = options.refuse ?? defaultRefusal;
  }

  /** Tasks running and waiting now (the daemon's metrics). */
  get load(): { running: number; queued: number } {
    return { running: this.running, queued: this.queued };
  }

  /** Nothing running and nothing waiting: the limit may be dropped. */
  get idle(): boolean {
    return this.running === 0 && this.queued === 0;
  }

  async run<T>(task: () => Promise<T>, client = ''): Promise<T> {
    if (this.running < this.limit) this.running++;
    else {
      if (this.queued >= this.maxQueued) throw this.refuse('all');
      const mine = this.waiting.get(client) ?? [];
      if (mine.length >= this.maxQueuedPerClient) throw this.refuse('client');
      // The slot is handed over by the task that ends (running stays counted), so nothing can jump the queue.
      await new Promise<void>((resolve) => {
        mine.push(resolve);
        this.waiting.set(client, mine);
        this.queued++;
      });
    }
    try {
      return await task();
    } finally {
      this.handOver();
    }
  }

  private handOver(): void {
    const next = this.waiting.entries().next();
    if (next.done === true) {
      this.running--;
      return;
    }
    const [client, tasks] = next.value;
    const wake = tasks.shift()!;
    this.queued--;
    // The client goes to the back of the round.
    this.waiting.delete(client);
    if (tasks.length > 0) this.waiting.set(client, tasks);
    wake();
  }
}

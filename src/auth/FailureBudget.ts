/** Above this many clients tracked, those with a full budget (nothing to remember) are forgotten. */
const SWEEP_AT = 10_000;
/** Memory stays bounded even when every tracked client is spending: the oldest are forgotten (a fresh budget is the cost). */
const MAX_TRACKED = 100_000;

/**
 * A token bucket per client: `capacity` attempts at once, one more every `refillMs`. An attempt is
 * taken before the work and given back when it succeeds, so only failures spend the budget: a client
 * that presents right keys is never slowed, one that guesses is held to the refill rate.
 */
export class FailureBudget {
  private readonly capacity: number;
  private readonly refillMs: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(capacity: number, refillMs: number, now: () => number = () => performance.now()) {
    this.capacity = capacity;
    this.refillMs = refillMs;
    this.now = now;
  }

  /** Takes one attempt for the client: 0 when taken, else the milliseconds until one is free. */
  take(client: string): number {
    const bucket = this.current(client);
    if (bucket.tokens < 1) return Math.ceil((1 - bucket.tokens) * this.refillMs);
    bucket.tokens -= 1;
    return 0;
  }

  /** Gives an attempt back (it succeeded, or was never made). */
  refund(client: string): void {
    const bucket = this.current(client);
    bucket.tokens = Math.min(this.capacity, bucket.tokens + 1);
  }

  private current(client: string): { tokens: number; at: number } {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = { tokens: this.capacity, at: now };
      this.buckets.set(client, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    return bucket;
  }

  private sweep(now: number): void {
    for (const [client, b] of this.buckets) {
      if (b.tokens + (now - b.at) / this.refillMs >= this.capacity) this.buckets.delete(client);
    }
    for (const client of this.buckets.keys()) {
      if (this.buckets.size < MAX_TRACKED) break;
      this.buckets.delete(client);
    }
  }
}

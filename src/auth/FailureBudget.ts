/** Above this many clients tracked, those with a full budget (nothing to remember) are forgotten. */
const SWEEP_AT = 10_000;
/** Memory stays bounded even when every tracked client is spending: the oldest are forgotten (a fresh budget is the cost). */
const MAX_TRACKED = 100_000;
/** Keys a client is remembered to have failed on; beyond this its oldest are forgotten. */
const MAX_FAILED_KEYS = 1000;

interface Bucket {
  tokens: number;
  at: number;
  /** The keys this client has failed on since its budget was last full. */
  failed: Set<string>;
}

/** Whether a client's attempt at a key may go ahead, and whether it spent a token. */
export type Admission = { admitted: true; spent: boolean; marked: boolean } | { admitted: false; waitMs: number };

/**
 * A token bucket per client: `capacity` attempts at once, one more every `refillMs`. An attempt spends
 * a token, and gets it back when it succeeds, so only failures spend the budget: a client that
 * presents right keys is never slowed, one that guesses is held to the refill rate.
 *
 * A client whose budget is spent is still admitted once for each key it has not failed on. Many
 * users may share one address (a NAT, a reverse proxy): a guesser there must not lock them all out,
 * only make itself wait for the keys it guesses at. Its work stays bounded by the keys it knows.
 */
export class FailureBudget {
  private readonly capacity: number;
  private readonly refillMs: number;
  private readonly now: () => number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(capacity: number, refillMs: number, now: () => number = () => performance.now()) {
    this.capacity = capacity;
    this.refillMs = refillMs;
    this.now = now;
  }

  admit(client: string, key: string): Admission {
    const bucket = this.current(client);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { admitted: true, spent: true, marked: false };
    }
    if (!bucket.failed.has(key)) {
      // Marked as failed until it succeeds, so a burst of guesses at one key is admitted once, not each.
      this.mark(bucket, key);
      return { admitted: true, spent: false, marked: true };
    }
    return { admitted: false, waitMs: Math.ceil((1 - bucket.tokens) * this.refillMs) };
  }

  /** The attempt's outcome: a success (or no attempt made) gives its token back, a failure marks the key. */
  settle(client: string, key: string, admission: Admission, failed: boolean): void {
    if (!admission.admitted) return;
    const bucket = this.current(client);
    if (!failed) {
      if (admission.spent) bucket.tokens = Math.min(this.capacity, bucket.tokens + 1);
      if (admission.marked) bucket.failed.delete(key);
      return;
    }
    this.mark(bucket, key);
  }

  private mark(bucket: Bucket, key: string): void {
    bucket.failed.add(key);
    if (bucket.failed.size > MAX_FAILED_KEYS) bucket.failed.delete(bucket.failed.values().next().value!);
  }

  private current(client: string): Bucket {
    const now = this.now();
    let bucket = this.buckets.get(client);
    if (!bucket) {
      if (this.buckets.size >= SWEEP_AT) this.sweep(now);
      bucket = { tokens: this.capacity, at: now, failed: new Set() };
      this.buckets.set(client, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) / this.refillMs);
    bucket.at = now;
    // A budget grown full again: the client has been quiet long enough to start afresh.
    if (bucket.tokens >= this.capacity) bucket.failed.clear();
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

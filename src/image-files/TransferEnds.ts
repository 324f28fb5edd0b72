import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { abortError } from '../store/storeErrors.ts';

/** Which end of a transfer failed, and what its failure means to the caller (a store's, a client's). */
export interface TransferBlame {
  /** The failure of the source as the caller reports it; as it is when absent. */
  source?: (error: unknown) => unknown;
  /** The failure of the sink as the caller reports it; as it is when absent. */
  sink?: (error: unknown) => unknown;
}

export type TransferEnd = keyof TransferBlame;

/**
 * The two ends of a transfer of image bytes (a client's body or a store's read, into a store's write
 * or a hash) and its cancellation, watched together: every wait of the transfer goes through race(),
 * so it ends with the first failure of either end, an error or a close before the end alike, or with
 * the signal. A destroyed sink never emits 'drain' and a dead source never emits 'end': without this,
 * a wait on either hangs the request forever. Failures come out blamed on their end (TransferBlame),
 * so a store's reset is never taken for the client's, nor the other way round.
 */
export class TransferEnds {
  private readonly done = new AbortController();
  private failure: { error: unknown } | undefined;
  /** The rejecters of the waits under way: one failure settles them all (a Promise.race per wait would pile up handlers). */
  private readonly waiting = new Set<(error: unknown) => void>();
  private readonly blame: TransferBlame;

  constructor(ends: { source: Readable; sink: Writable; signal?: AbortSignal | undefined; blame?: TransferBlame | undefined }) {
    this.blame = ends.blame ?? {};
    const watching = this.done.signal;
    const { signal } = ends;
    // finished() resolves at a normal end (the source's 'end', the sink's 'finish') and rejects on an
    // error or a premature close; the watch stops once the transfer is over.
    finished(ends.source, { signal: watching, writable: false, cleanup: true }).catch((e: unknown) => this.fail(this.blamed('source', e)));
    finished(ends.sink, { signal: watching, readable: false, cleanup: true }).catch((e: unknown) => this.fail(this.blamed('sink', e)));
    if (signal?.aborted) this.fail(abortError(signal));
    signal?.addEventListener('abort', () => this.fail(abortError(signal)), { once: true, signal: watching });
  }

  /**
   * `wait` (on the `end` named), or the first failure of either end or the cancellation, whichever
   * comes first; a rejection of `wait` itself is blamed on `end`.
   */
  race<T>(wait: Promise<T>, end: TransferEnd): Promise<T> {
    if (this.failure) {
      wait.catch(() => undefined);
      return Promise.reject(this.failure.error);
    }
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      wait.then(
        (value) => {
          this.waiting.delete(reject);
          resolve(value);
        },
        (error: unknown) => {
          this.waiting.delete(reject);
          reject(this.failure ? this.failure.error : this.blamed(end, error));
        },
      );
    });
  }

  /** Ends helper waits (once()'s listeners) when the transfer is over. */
  get over(): AbortSignal {
    return this.done.signal;
  }

  /** Stops watching: the transfer is over, one way or the other. */
  close(): void {
    this.done.abort();
    this.waiting.clear();
  }

  private blamed(end: TransferEnd, error: unknown): unknown {
    if (this.failure) return this.failure.error;
    const blame = this.blame[end];
    return blame ? blame(error) : error;
  }

  private fail(error: unknown): void {
    if (this.done.signal.aborted || this.failure) return;
    this.failure = { error };
    for (const reject of this.waiting) reject(error);
    this.waiting.clear();
  }
}

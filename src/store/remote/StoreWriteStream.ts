import { Writable } from 'node:stream';
import type { StoreWrite } from '../ImageStore.ts';
import { abortError } from '../storeErrors.ts';

/**
 * The common shape of a remote store's write: a Writable that is its own `stream`, buffers up to
 * 1 MiB, and on its AbortSignal both errors the stream and discards what the store received.
 */
export abstract class StoreWriteStream extends Writable implements StoreWrite {
  constructor(signal: AbortSignal | undefined) {
    super({ highWaterMark: 1 << 20 });
    signal?.addEventListener(
      'abort',
      () => {
        this.destroy(abortError(signal));
        void this.abort();
      },
      { once: true },
    );
  }

  get stream(): Writable {
    return this;
  }

  abstract commit(): Promise<void>;
  abstract abort(): Promise<void>;
}

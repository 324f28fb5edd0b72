import type { Readable } from 'node:stream';
import type { ByteRange, ImageStore, IncompleteWrite, ObjectStat, PositionalReader, StoreAdapter, StoreHealth, StoreWrite, WriteOptions } from './ImageStore.ts';
import { assertObjectKey } from './objectKey.ts';
import { storeFailureOf } from './storeErrors.ts';
import { probeHealth } from './storeHealthProbe.ts';

/**
 * The one wrapper every adapter passes through on its way to the core (after distribution's
 * base.Base for storage drivers): keys are checked here, once, so none can leave the store's
 * namespace; any failure that is not yet a VisorError (an fs store's EACCES, a client library's
 * own error) becomes one here, `unavailable`, naming the store and the operation and carrying only
 * the error's code, never its message (which may quote a URL with a token in it); and the health
 * probe is the same for every store. Cancellations (AbortError) pass as they are: they are the
 * caller's own doing, not the store's failure.
 *
 * Bytes in flight are not wrapped: a read stream's or a write stream's own errors reach the caller
 * as the adapter raised them, since a pass-through stream would cost every image a copy.
 */
export class GuardedStore implements ImageStore {
  readonly adapter: StoreAdapter;
  readonly openPositional?: (key: string) => Promise<PositionalReader>;
  readonly keyOf?: (url: string) => string | undefined;
  private readonly probeTimeoutMs: number | undefined;

  constructor(adapter: StoreAdapter, options: { probeTimeoutMs?: number } = {}) {
    this.adapter = adapter;
    this.probeTimeoutMs = options.probeTimeoutMs;
    if (adapter.openPositional) {
      const open = adapter.openPositional.bind(adapter);
      this.openPositional = async (key) => {
        const operation = `read of ${this.checked(key)}`;
        const reader = await open(key).catch(this.rethrow(operation));
        return {
          read: (buffer, position, length) => reader.read(buffer, position, length).catch(this.rethrow(operation)),
          close: () => reader.close().catch(this.rethrow(operation)),
        };
      };
    }
    if (adapter.keyOf) this.keyOf = adapter.keyOf.bind(adapter);
  }

  get name(): string {
    return this.adapter.name;
  }

  get type(): string {
    return this.adapter.type;
  }

  get writable(): boolean {
    return this.adapter.writable;
  }

  init(): Promise<void> {
    return this.adapter.init().catch(this.rethrow('preparation'));
  }

  stat(key: string): Promise<ObjectStat | undefined> {
    return this.call(`stat of ${key}`, key, () => this.adapter.stat(key));
  }

  read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    return this.call(`read of ${key}`, key, () => this.adapter.read(key, range, signal));
  }

  async write(key: string, options?: WriteOptions): Promise<StoreWrite> {
    const write = await this.call(`write of ${key}`, key, () => this.adapter.write(key, options));
    return {
      stream: write.stream,
      commit: () => write.commit().catch(this.rethrow(`write of ${key}`)),
      abort: () => write.abort().catch(this.rethrow(`abort of the write of ${key}`)),
    };
  }

  delete(key: string): Promise<void> {
    return this.call(`delete of ${key}`, key, () => this.adapter.delete(key));
  }

  async *list(prefix?: string): AsyncIterable<ObjectStat> {
    try {
      yield* this.adapter.list(prefix);
    } catch (e) {
      throw this.failure('listing', e);
    }
  }

  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {
    try {
      yield* this.adapter.incompleteWrites();
    } catch (e) {
      throw this.failure('listing of unfinished writes', e);
    }
  }

  discardIncomplete(write: IncompleteWrite): Promise<void> {
    return this.adapter.discardIncomplete(write).catch(this.rethrow(`discard of ${write.id}`));
  }

  health(): Promise<StoreHealth> {
    return probeHealth(this.adapter, (e, operation) => this.failure(operation, e).message, this.probeTimeoutMs);
  }

  close(): Promise<void> {
    return this.adapter.close().catch(this.rethrow('closing'));
  }

  /** The key, if it is one the core may use: relative, no dot segments, not starting with a dot. */
  private checked(key: string): string {
    return assertObjectKey(this.adapter, key);
  }

  private async call<T>(operation: string, key: string, run: () => Promise<T>): Promise<T> {
    this.checked(key);
    try {
      return await run();
    } catch (e) {
      throw this.failure(operation, e);
    }
  }

  private rethrow(operation: string): (e: unknown) => never {
    return (e) => {
      throw this.failure(operation, e);
    };
  }

  /** The error as the core gets it: VisorErrors and cancellations as they are, anything else typed. */
  private failure(operation: string, e: unknown): Error {
    return storeFailureOf(this.adapter, operation, e);
  }
}

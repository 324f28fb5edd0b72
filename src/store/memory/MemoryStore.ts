import { randomBytes } from 'node:crypto';
import { Readable, Writable, addAbortSignal } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ByteRange, IncompleteWrite, ObjectStat, PositionalReader, StoreAdapter, StoreWrite, WriteOptions } from '../ImageStore.ts';
import { abortError, objectNotFound, storeFailure } from '../storeErrors.ts';

export interface MemoryStoreOptions {
  name: string;
  /** Objects and unfinished writes together; a write that would pass it fails (default 256 MiB). */
  maxBytes?: number;
}

interface StoredObject {
  data: Buffer;
  modified: Date;
}

interface PendingWrite {
  key: string;
  chunks: Buffer[];
  bytes: number;
  started: Date;
  /** Set when gc discarded it: the writer's commit then fails. */
  discarded: boolean;
}

/** Chunks of a read, so a consumer can cancel between them as it would on a network. */
const READ_CHUNK = 64 << 10;

/**
 * Objects in this process's memory: the reference implementation of the store contract (nothing
 * visible before commit, abort and signals discard, ranges, positional reads, unfinished writes
 * listed and discarded) and a fast store for unit tests of the core. Lost when the process ends.
 */
export class MemoryStore implements StoreAdapter {
  readonly name: string;
  readonly type = 'memory';
  readonly writable = true;
  private readonly maxBytes: number;
  private readonly objects = new Map<string, StoredObject>();
  private readonly pending = new Map<string, PendingWrite>();
  /** Bytes held by objects and unfinished writes, against maxBytes. */
  private used = 0;

  constructor(options: MemoryStoreOptions) {
    this.name = options.name;
    this.maxBytes = options.maxBytes ?? 256 << 20;
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    const o = this.objects.get(key);
    return o ? { key, size: o.data.length, modified: o.modified } : undefined;
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted();
    const data = this.found(key).data;
    const window = range ? data.subarray(range.start, Math.min(range.end, data.length - 1) + 1) : data;
    const stream = Readable.from(
      (function* () {
        for (let at = 0; at < window.length; at += READ_CHUNK) yield window.subarray(at, at + READ_CHUNK);
      })(),
      { objectMode: false },
    );
    return signal ? addAbortSignal(signal, stream) : stream;
  }

  async openPositional(key: string): Promise<PositionalReader> {
    // The object as it is now, like an open file: a later overwrite or delete does not change it.
    const data = this.found(key).data;
    return {
      read: async (buffer, position, length) => (position >= data.length ? 0 : data.copy(buffer, 0, position, Math.min(data.length, position + length))),
      close: async () => {},
    };
  }

  async write(key: string, options: WriteOptions = {}): Promise<StoreWrite> {
    options.signal?.throwIfAborted();
    const id = `${key}.${randomBytes(6).toString('hex')}`;
    const write: PendingWrite = { key, chunks: [], bytes: 0, started: new Date(), discarded: false };
    this.pending.set(id, write);
    const store = this;
    const stream = new Writable({
      highWaterMark: 1 << 20,
      write(chunk: Buffer, _encoding, callback) {
        if (write.discarded) return callback(storeFailure(store, `write of ${key}`, 'the unfinished write was discarded'));
        if (store.used + chunk.length > store.maxBytes) return callback(storeFailure(store, `write of ${key}`, `the store is full (max_bytes ${store.maxBytes})`));
        // A copy: callers reuse their buffers once the callback ran.
        write.chunks.push(Buffer.from(chunk));
        write.bytes += chunk.length;
        store.used += chunk.length;
        callback();
      },
    });
    let settled = false;
    const discard = (): void => this.dropPending(id);
    const result: StoreWrite = {
      stream,
      async commit() {
        if (settled) throw storeFailure(store, `write of ${key}`, 'the write was already committed or aborted');
        settled = true;
        try {
          options.signal?.throwIfAborted();
          if (!stream.writableFinished) await finished(stream);
          if (write.discarded) throw storeFailure(store, `write of ${key}`, 'the unfinished write was discarded');
          const data = Buffer.concat(write.chunks, write.bytes);
          store.removeObject(key);
          store.objects.set(key, { data, modified: new Date() });
          store.used += data.length;
        } finally {
          discard();
        }
      },
      async abort() {
        if (settled) return;
        settled = true;
        stream.destroy();
        discard();
      },
    };
    // A cancelled write discards itself: the caller may never get to call abort().
    options.signal?.addEventListener(
      'abort',
      () => {
        stream.destroy(abortError(options.signal));
        void result.abort();
      },
      { once: true },
    );
    return result;
  }

  async delete(key: string): Promise<void> {
    this.removeObject(key);
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    for (const key of [...this.objects.keys()].sort()) {
      if (key.startsWith('.') || !key.startsWith(prefix)) continue;
      const o = this.objects.get(key);
      if (o) yield { key, size: o.data.length, modified: o.modified };
    }
  }

  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {
    for (const [id, w] of [...this.pending].sort(([a], [b]) => a.localeCompare(b))) {
      if (!w.key.startsWith('.')) yield { key: w.key, id, started: w.started, bytes: w.bytes };
    }
  }

  async discardIncomplete(write: IncompleteWrite): Promise<void> {
    const w = this.pending.get(write.id);
    if (w) w.discarded = true;
    this.dropPending(write.id);
  }

  async close(): Promise<void> {}

  private found(key: string): StoredObject {
    const o = this.objects.get(key);
    if (!o) throw objectNotFound(this, key);
    return o;
  }

  private removeObject(key: string): void {
    this.used -= this.objects.get(key)?.data.length ?? 0;
    this.objects.delete(key);
  }

  private dropPending(id: string): void {
    const w = this.pending.get(id);
    if (!w) return;
    this.used -= w.bytes;
    w.chunks = [];
    w.bytes = 0;
    this.pending.delete(id);
  }
}

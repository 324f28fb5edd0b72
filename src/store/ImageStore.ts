import type { Readable, Writable } from 'node:stream';

export interface ObjectStat {
  key: string;
  size: number;
  /** When the object was last written, where the store says. */
  modified?: Date;
}

/** Inclusive byte range, as in HTTP's Range header. An end past the last byte is clamped to it. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoreHealth {
  ok: boolean;
  detail?: string;
}

/** Reads of one object at given offsets (pread), for a sender that brings its own buffers. */
export interface PositionalReader {
  /** Bytes read into buffer[0..n), from `position`; 0 at the end of the object. */
  read(buffer: Buffer, position: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface WriteOptions {
  /** Aborting the signal cancels the write: nothing becomes visible and the stream errors. */
  signal?: AbortSignal;
  /** Bytes that will be written, when known: lets multipart stores choose the part size. */
  expectedSize?: number;
}

/**
 * An object being written. Bytes go to `stream`; nothing is visible under the key until commit()
 * resolves, and abort() (or a signal) discards everything written so far.
 */
export interface StoreWrite {
  readonly stream: Writable;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * What a write that was neither committed nor aborted (the process died) leaves in a store: an
 * unfinished multipart upload, unreferenced segments, a temporary file. Found and removed by gc.
 */
export interface IncompleteWrite {
  /** The key the write was meant for. */
  key: string;
  /** The store's handle for the leftover (upload id, segment group, temporary file name). */
  id: string;
  started?: Date;
  bytes?: number;
}

/**
 * What every storage adapter implements: fs, s3, swift, http (read-only), hdfs (WebHDFS) and memory.
 * Keys are chosen by the core (image ids; paths relative to the base URL for http) and are opaque to
 * the adapter beyond being safe path segments. Every adapter passes test/stores/storeConformance.ts.
 *
 * The core never holds an adapter itself: createStore wraps it in a GuardedStore, which checks keys,
 * turns any failure that is not yet a VisorError into one, and probes health the same way for all.
 * Failures are VisorErrors: a missing object is `not_found`; anything else the store did wrong is
 * `unavailable` with a message that names the store and never carries a credential.
 */
export interface StoreAdapter {
  /** Instance name from configuration, as recorded in image locations. */
  readonly name: string;
  /** Adapter type: fs, s3, swift, http, hdfs, memory. */
  readonly type: string;
  /** False for stores VISOR can only read from (http): writes are refused, deletes leave the object. */
  readonly writable: boolean;
  /** Local preparation only (folders): a remote store that is down must not stop the daemon starting. */
  init(): Promise<void>;
  stat(key: string): Promise<ObjectStat | undefined>;
  /** Resolves once the store has answered, so a store that fails before the first byte rejects here. */
  read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  /**
   * Optional: reads at any offset into the caller's buffer, so a sender can reuse a few buffers
   * instead of allocating one per chunk (fs store on loopback: 2.2 GB/s against 1.2 GB/s streamed).
   */
  openPositional?(key: string): Promise<PositionalReader>;
  write(key: string, options?: WriteOptions): Promise<StoreWrite>;
  /** Removes the object; a missing object is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Objects whose key starts with the prefix. Keys starting with "." are the store's own (the
   * health probe's object) and are never listed; the core's keys never start with one.
   */
  list(prefix?: string): AsyncIterable<ObjectStat>;
  incompleteWrites(): AsyncIterable<IncompleteWrite>;
  discardIncomplete(write: IncompleteWrite): Promise<void>;
  /** Optional, for stores whose objects have URLs (http): the key of a URL under the store, if it is one. */
  keyOf?(url: string): string | undefined;
  /** Releases connections. */
  close(): Promise<void>;
}

/** A store as the core uses it: an adapter behind its GuardedStore (see createStore). */
export interface ImageStore extends StoreAdapter {
  /**
   * A real small write, read back and delete through the adapter (read-only stores: a stat), within
   * a time limit: credentials, permissions, a full or read-only disk all show here.
   */
  health(): Promise<StoreHealth>;
}

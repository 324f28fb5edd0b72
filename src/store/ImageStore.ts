import type { Readable, Writable } from 'node:stream';

export interface ObjectStat {
  key: string;
  size: number;
}

/** Inclusive byte range, as in HTTP's Range header. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoreHealth {
  ok: boolean;
  detail?: string;
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
 * What every storage adapter implements (fs now; S3, Swift, HTTP and WebHDFS next). Keys are chosen by
 * the core (never by clients) and are opaque to the adapter beyond being safe path segments.
 */
export interface ImageStore {
  /** Instance name from configuration, as recorded in image locations. */
  readonly name: string;
  /** Adapter type: fs, s3, swift, http, hdfs. */
  readonly type: string;
  stat(key: string): Promise<ObjectStat | undefined>;
  read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable>;
  write(key: string, options?: { signal?: AbortSignal; expectedSize?: number }): Promise<StoreWrite>;
  delete(key: string): Promise<void>;
  list(prefix?: string): AsyncIterable<ObjectStat>;
  health(): Promise<StoreHealth>;
}

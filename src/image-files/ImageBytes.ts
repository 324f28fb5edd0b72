import type { Readable } from 'node:stream';
import type { ImageLocation } from '../api/ImageRecord.ts';
import { VisorError } from '../errors/VisorError.ts';
import type { ByteRange, ImageStore, PositionalReader } from '../store/ImageStore.ts';

/** How long a store that failed a read is tried after the others. */
const SUSPECT_MS = 30_000;

/** An opened image file: read at offsets into the caller's buffers where the store can, else a stream. */
export type ByteSource = { kind: 'positional'; reader: PositionalReader; location: ImageLocation } | { kind: 'stream'; stream: Readable; location: ImageLocation };

export interface OpenOptions {
  range?: ByteRange | undefined;
  signal?: AbortSignal | undefined;
  /** The caller can send from a positional reader (the HTTP download's buffer ring). */
  positional?: boolean;
}

/**
 * The one owner of "open this image's bytes": every read of an image file (downloads, streamed or
 * positional, and copies) opens the first of its locations that answers. A store that just failed
 * is tried last for a while, so one that is down does not cost every download a timeout first.
 */
export class ImageBytes {
  private readonly failedAt = new Map<string, number>();
  private readonly stores: ReadonlyMap<string, ImageStore>;

  constructor(stores: ReadonlyMap<string, ImageStore>) {
    this.stores = stores;
  }

  /** Whether the daemon's store of this name writes (undefined: it has none). */
  writable(store: string): boolean | undefined {
    return this.stores.get(store)?.writable;
  }

  /** The locations in stores this daemon has, healthy ones first, in their recorded order otherwise. */
  order(locations: readonly ImageLocation[]): ImageLocation[] {
    const now = Date.now();
    const usable = locations.filter((l) => this.stores.has(l.store));
    const suspect = (l: ImageLocation) => now - (this.failedAt.get(l.store) ?? 0) < SUSPECT_MS;
    return [...usable.filter((l) => !suspect(l)), ...usable.filter(suspect)];
  }

  async open(locations: readonly ImageLocation[], options: OpenOptions = {}): Promise<ByteSource> {
    const { range, signal } = options;
    const failures: string[] = [];
    for (const location of this.order(locations)) {
      const store = this.stores.get(location.store)!;
      try {
        if (options.positional && store.openPositional) return { kind: 'positional', reader: await store.openPositional(location.key), location };
        return { kind: 'stream', stream: await store.read(location.key, range, signal), location };
      } catch (e) {
        if (signal?.aborted) throw e;
        this.failedAt.set(location.store, Date.now());
        failures.push((e as Error).message);
      }
    }
    throw new VisorError('unavailable', `no location of the image could be read: ${failures.join('; ') || 'it has no location in a store this daemon has'}`);
  }

  /** open() for a reader that needs a stream. */
  async openStream(locations: readonly ImageLocation[], range?: ByteRange, signal?: AbortSignal): Promise<{ stream: Readable; location: ImageLocation }> {
    const source = await this.open(locations, { range, signal });
    if (source.kind !== 'stream') throw new Error('unreachable: a positional source was not asked for');
    return source;
  }
}

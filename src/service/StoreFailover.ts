import type { Readable } from 'node:stream';
import type { ImageLocation } from '../catalog/ImageRecord.ts';
import { VisorError } from '../errors/VisorError.ts';
import type { ByteRange, ImageStore } from '../store/ImageStore.ts';

/** How long a store that failed a read is tried after the others. */
const SUSPECT_MS = 30_000;

/**
 * Reads an image from the first of its locations that answers. A store that just failed is tried last
 * for a while, so one that is down does not cost every download a timeout first.
 */
export class StoreFailover {
  private readonly failedAt = new Map<string, number>();
  private readonly stores: ReadonlyMap<string, ImageStore>;

  constructor(stores: ReadonlyMap<string, ImageStore>) {
    this.stores = stores;
  }

  /** The locations in stores this daemon has, healthy ones first, in their recorded order otherwise. */
  order(locations: readonly ImageLocation[]): ImageLocation[] {
    const now = Date.now();
    const usable = locations.filter((l) => this.stores.has(l.store));
    const suspect = (l: ImageLocation) => now - (this.failedAt.get(l.store) ?? 0) < SUSPECT_MS;
    return [...usable.filter((l) => !suspect(l)), ...usable.filter(suspect)];
  }

  markFailed(store: string): void {
    this.failedAt.set(store, Date.now());
  }

  async open(locations: readonly ImageLocation[], range: ByteRange | undefined, signal?: AbortSignal): Promise<{ stream: Readable; location: ImageLocation }> {
    const failures: string[] = [];
    for (const location of this.order(locations)) {
      try {
        return { stream: await this.stores.get(location.store)!.read(location.key, range, signal), location };
      } catch (e) {
        if (signal?.aborted) throw e;
        this.markFailed(location.store);
        failures.push((e as Error).message);
      }
    }
    throw new VisorError('unavailable', `no location of the image could be read: ${failures.join('; ') || 'it has no location in a store this daemon has'}`);
  }
}

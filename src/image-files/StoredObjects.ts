import type { ImageRecord } from '../api/ImageRecord.ts';
import type { ImageStore } from '../store/ImageStore.ts';

/** Removes the objects of an image the catalogue no longer names. */
export class StoredObjects {
  private readonly stores: ReadonlyMap<string, ImageStore>;
  private readonly onError: (id: string, error: unknown) => void;

  constructor(stores: ReadonlyMap<string, ImageStore>, onError: (id: string, error: unknown) => void = () => undefined) {
    this.stores = stores;
    this.onError = onError;
  }

  /** Deletes each of these locations' objects; one a store failed to delete is found later by store gc. */
  async discard(id: string, locations: ImageRecord['locations']): Promise<void> {
    for (const loc of locations ?? []) await this.stores.get(loc.store)?.delete(loc.key).catch((e: unknown) => this.onError(id, e));
  }
}

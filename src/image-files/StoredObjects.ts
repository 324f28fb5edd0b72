import type { ImageRecord } from '../api/ImageRecord.ts';
import type { ImageStore } from '../store/ImageStore.ts';

/**
 * Removes the objects of an image the catalogue no longer names. An object is deleted only when no
 * image names it any more: removing one image must never take another's bytes.
 */
export class StoredObjects {
  private readonly stores: ReadonlyMap<string, ImageStore>;
  private readonly namedElsewhere: (store: string, key: string, except: string) => boolean;
  private readonly onError: (id: string, error: unknown) => void;

  constructor(options: { stores: ReadonlyMap<string, ImageStore>; namedElsewhere: (store: string, key: string, except: string) => boolean; onError?: (id: string, error: unknown) => void }) {
    this.stores = options.stores;
    this.namedElsewhere = options.namedElsewhere;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Deletes each of these locations' objects that no other image names; one a store failed to delete is found later by store gc. */
  async discard(id: string, locations: ImageRecord['locations']): Promise<void> {
    for (const loc of locations ?? []) {
      if (this.namedElsewhere(loc.store, loc.key, id)) continue;
      await this.stores.get(loc.store)?.delete(loc.key).catch((e: unknown) => this.onError(id, e));
    }
  }
}

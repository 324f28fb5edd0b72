import type { ImageRecord } from '../api/ImageRecord.ts';
import type { ImageStore } from '../store/ImageStore.ts';

/**
 * Removes the objects of an image the catalogue no longer names: only those VISOR wrote for it (under
 * its own id), and only when no other image names them. An object registered from elsewhere (a key
 * of a shared bucket, a file of a web server) was never VISOR's to delete, and removing one image
 * must never take another's bytes; store gc with `unreferenced` is the admin's way to clear the rest.
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

  /** Deletes those of these locations' objects that are the image's own; one a store failed to delete is found later by store gc. */
  async discard(id: string, locations: ImageRecord['locations']): Promise<void> {
    for (const loc of locations ?? []) {
      if (loc.key !== id || this.namedElsewhere(loc.store, loc.key, id)) continue;
      await this.stores.get(loc.store)?.delete(loc.key).catch((e: unknown) => this.onError(id, e));
    }
  }
}

import type { StoreConfig } from './storeRegistry.ts';
import { GuardedStore } from './GuardedStore.ts';
import type { ImageStore } from './ImageStore.ts';
import { storeTypeNamed } from './storeRegistry.ts';

/**
 * The store for one configured instance: its type's adapter (loaded only now, see StoreDescriptor)
 * behind the GuardedStore every adapter passes through.
 */
export async function createStore(name: string, c: StoreConfig): Promise<ImageStore> {
  const descriptor = storeTypeNamed(c.type);
  if (!descriptor) throw new Error(`no store type ${c.type}`);
  return new GuardedStore(await descriptor.open(name, c));
}

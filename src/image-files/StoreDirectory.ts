import type { StoreListing, StoreHealthView } from '../api/wire.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import type { ImageStore, StoreHealth } from '../store/ImageStore.ts';

/** How long /health waits for a store's probe. */
const PROBE_TIMEOUT_MS = 10_000;

/** The configured stores as callers may see them: listed by name and type, and probed for health. */
export class StoreDirectory {
  readonly stores: ReadonlyMap<string, ImageStore>;
  readonly defaultStore: string;

  constructor(stores: ReadonlyMap<string, ImageStore>, defaultStore: string) {
    this.stores = stores;
    this.defaultStore = defaultStore;
  }

  /** Names and types only, for signed-in callers: settings may hold credentials. */
  list(who: Principal | undefined): StoreListing {
    assertSignedIn(who);
    return { default: this.defaultStore, stores: [...this.stores.values()].map((s) => ({ name: s.name, type: s.type, writable: s.writable })) };
  }

  /** Each store's health; a store that does not answer in time is reported as such: /health must not hang on it. */
  async health(): Promise<Record<string, StoreHealthView>> {
    const out: Record<string, StoreHealthView> = {};
    const timeout = (store: ImageStore) =>
      new Promise<StoreHealth>((resolve) => setTimeout(() => resolve({ ok: false, detail: `store ${store.name} (${store.type}): no answer to the health probe within ${PROBE_TIMEOUT_MS / 1000} s` }), PROBE_TIMEOUT_MS).unref());
    await Promise.all([...this.stores].map(async ([name, store]) => (out[name] = { type: store.type, ...(await Promise.race([store.health(), timeout(store)])) })));
    return out;
  }
}

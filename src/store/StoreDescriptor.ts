import type { StoreAdapter } from './ImageStore.ts';
import type { StoreSettingsReader } from './StoreSettingsReader.ts';

/** Where stores without a configured place go (the fs store's folder). */
export interface StoreDefaults {
  dataDir: string;
  expandHome: (path: string) => string;
}

/**
 * One type of store, as its folder (src/store/<type>/) describes it to the rest of VISOR: its type
 * name, the settings its configuration table takes and how they are read, and how an instance is made.
 * Registered in storeRegistry.ts; configuration and createStore only loop over the registry.
 */
export interface StoreDescriptor<C extends { type: string }> {
  readonly type: C['type'];
  /** The keys a store table of this type may hold, `type` included. */
  readonly settings: readonly string[];
  /** The store's configuration from its settings; problems name the setting (the reader does that). */
  parse(settings: StoreSettingsReader, defaults: StoreDefaults): C;
  /**
   * The adapter of one configured store. Its module is imported here, not at the top of the
   * descriptor: the S3 SDK and the HTTP clients would otherwise add ~60 MB to every daemon's memory.
   */
  open(name: string, config: C): Promise<StoreAdapter>;
}

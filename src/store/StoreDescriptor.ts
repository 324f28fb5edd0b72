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
   * Where the store's objects live, each place a string every object of the store starts with
   * (`file:/srv/images/`; `//host/bucket/prefix/` for a bucket as a web server may serve it).
   * Two stores whose places nest reach the same objects under two names, which would defeat the
   * rule that one image's object is not another's to register; the configuration refuses them.
   * None (the memory store): nothing else can reach its objects.
   */
  places?(c: C): string[];
  /** The store never writes (http): two such stores may overlap, as two mirrors of one site. */
  readonly readOnly?: boolean;
  /**
   * The adapter of one configured store. Its module is imported here, not at the top of the
   * descriptor: the S3 SDK and the HTTP clients would otherwise add ~60 MB to every daemon's memory.
   */
  open(name: string, config: C): Promise<StoreAdapter>;
}

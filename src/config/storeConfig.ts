import { invalidField } from '../errors/VisorError.ts';
import type { StoreDefaults } from '../store/StoreDescriptor.ts';
import { STORE_TYPES, storeTypeNamed, type StoreConfig } from '../store/storeRegistry.ts';
import { StoreSettingsReader, storeEnvName, type StoreSettings } from '../store/StoreSettingsReader.ts';
import { placesOverlap } from '../store/storePlaces.ts';

export type { StoreConfig, StoreType } from '../store/storeRegistry.ts';
export type { StoreCommonConfig, StoreSettings } from '../store/StoreSettingsReader.ts';
export type { FsStoreConfig } from '../store/fs/fsDescriptor.ts';
export type { S3StoreConfig } from '../store/s3/s3Descriptor.ts';
export type { SwiftStoreConfig } from '../store/swift/swiftDescriptor.ts';
export type { HttpStoreConfig } from '../store/http/httpDescriptor.ts';
export type { HdfsStoreConfig } from '../store/webhdfs/webHdfsDescriptor.ts';
export type { MemoryStoreConfig } from '../store/memory/memoryDescriptor.ts';
export { storeEnvName };

/**
 * Reads one store's settings: from its table, each overridden by VISOR_STORE_<NAME>_<SETTING>.
 * Every problem names the setting (stores.<name>.<setting>). What each type takes is its descriptor's
 * (src/store/<type>/); this only finds the type and refuses settings it does not take.
 */
export function parseStoreConfig(name: string, table: StoreSettings, env: NodeJS.ProcessEnv, defaults: StoreDefaults): StoreConfig {
  const settings = new StoreSettingsReader(name, table, env);
  const type = env[storeEnvName(name, 'type')] ?? table['type'] ?? 'fs';
  const descriptor = typeof type === 'string' ? storeTypeNamed(type) : undefined;
  if (!descriptor) throw invalidField(settings.field('type'), 'enum', `one of ${STORE_TYPES.map((d) => d.type).join(', ')}`);
  for (const key of Object.keys(table)) {
    if (!descriptor.settings.includes(key)) {
      throw invalidField(settings.field(key), 'known-key', `one of ${descriptor.settings.join(', ')} (for type ${descriptor.type})`, `${settings.field(key)}: unknown setting for a store of type ${descriptor.type}`);
    }
  }
  return descriptor.parse(settings, defaults);
}

/**
 * Refuses stores that reach the same objects under two names (one folder inside another's, one
 * bucket's prefixes nested, an http store serving another store's bucket): through the second name,
 * one image's object could be registered as another's, read by a caller who may not read it, and
 * deleted with the wrong image. Two read-only stores may overlap: neither writes or deletes.
 */
export function assertStoresApart(stores: Readonly<Record<string, StoreConfig>>): void {
  const placed = Object.entries(stores).map(([name, config]) => {
    const descriptor = storeTypeNamed(config.type)!;
    return { name, readOnly: descriptor.readOnly === true, places: descriptor.places?.(config) ?? [] };
  });
  for (const [i, b] of placed.entries()) {
    for (const a of placed.slice(0, i)) {
      if (a.readOnly && b.readOnly) continue;
      for (const pa of a.places) {
        const pb = b.places.find((p) => placesOverlap(pa, p));
        if (pb === undefined) continue;
        throw invalidField(`stores.${b.name}`, 'apart', `a place no other store reaches (not the same as, inside or around store ${a.name}'s)`, `stores.${b.name}: reaches the objects of store ${a.name} (${pb} and ${pa} overlap); two stores over one place would let one image's object be taken under another's name`);
      }
    }
  }
}

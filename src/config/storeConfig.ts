import { invalidField } from '../errors/VisorError.ts';
import type { StoreDefaults } from '../store/StoreDescriptor.ts';
import { STORE_TYPES, storeTypeNamed, type StoreConfig } from '../store/storeRegistry.ts';
import { StoreSettingsReader, storeEnvName, type StoreSettings } from '../store/StoreSettingsReader.ts';

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

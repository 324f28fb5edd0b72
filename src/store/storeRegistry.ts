import { fsDescriptor } from './fs/fsDescriptor.ts';
import { httpDescriptor } from './http/httpDescriptor.ts';
import { memoryDescriptor } from './memory/memoryDescriptor.ts';
import { s3Descriptor } from './s3/s3Descriptor.ts';
import type { StoreDescriptor } from './StoreDescriptor.ts';
import { swiftDescriptor } from './swift/swiftDescriptor.ts';
import { webHdfsDescriptor } from './webhdfs/webHdfsDescriptor.ts';

/**
 * Every type of store VISOR knows, one line each. A new adapter is its folder under src/store/
 * (the adapter and its descriptor) and a line here. The descriptors are light: each adapter's
 * module is imported only when a store of its type is opened.
 */
export const STORE_TYPES = [fsDescriptor, s3Descriptor, swiftDescriptor, httpDescriptor, webHdfsDescriptor, memoryDescriptor] as const;

/** One store's configuration, as its type's descriptor reads it. */
export type StoreConfig = ReturnType<(typeof STORE_TYPES)[number]['parse']>;
export type StoreType = StoreConfig['type'];

/** The descriptor of a type of store, if VISOR has one by that name. */
export function storeTypeNamed(type: string): StoreDescriptor<StoreConfig> | undefined {
  // Each descriptor takes its own configuration; the union of them takes whichever its `type` names.
  return STORE_TYPES.find((d) => d.type === type) as StoreDescriptor<StoreConfig> | undefined;
}

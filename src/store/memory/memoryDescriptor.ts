import type { StoreDescriptor } from '../StoreDescriptor.ts';

export interface MemoryStoreConfig {
  type: 'memory';
  /** What the objects and the writes under way may hold together; a write past it fails. */
  maxBytes: number;
}

export const memoryDescriptor: StoreDescriptor<MemoryStoreConfig> = {
  type: 'memory',
  settings: ['type', 'max_bytes'],
  parse: (s) => ({ type: 'memory', maxBytes: s.int('max_bytes', 256 << 20, 0, Number.MAX_SAFE_INTEGER) }),
  async open(name, c) {
    const { MemoryStore } = await import('./MemoryStore.ts');
    return new MemoryStore({ name, maxBytes: c.maxBytes });
  },
};

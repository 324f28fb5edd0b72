import { join, resolve } from 'node:path';
import type { StoreDescriptor } from '../StoreDescriptor.ts';

export interface FsStoreConfig {
  type: 'fs';
  path: string;
  fsync: boolean;
}

export const fsDescriptor: StoreDescriptor<FsStoreConfig> = {
  type: 'fs',
  settings: ['type', 'path', 'fsync'],
  parse: (s, defaults) => ({
    type: 'fs',
    path: resolve(defaults.expandHome(s.text('path') ?? join(defaults.dataDir, s.name === 'fs' ? 'images' : `images-${s.name}`))),
    fsync: s.bool('fsync', true),
  }),
  places: (c) => [`file:${c.path.endsWith('/') ? c.path : `${c.path}/`}`],
  async open(name, c) {
    const { FsStore } = await import('./FsStore.ts');
    return new FsStore({ name, path: c.path, fsync: c.fsync });
  },
};

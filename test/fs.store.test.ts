import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../src/store/FsStore.ts';
import { storeConformance } from './stores/storeConformance.ts';

const dirs: string[] = [];
test.after.always(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

storeConformance(test, {
  partSize: 0,
  async open() {
    const dir = await mkdtemp(join(tmpdir(), 'visor-fs-store-'));
    dirs.push(dir);
    return new FsStore({ name: 'fs-under-test', path: dir });
  },
});

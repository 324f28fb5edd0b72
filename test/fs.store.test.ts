import test from 'ava';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { VisorError } from '../src/errors/VisorError.ts';
import { GuardedStore } from '../src/store/GuardedStore.ts';
import { FsStore } from '../src/store/fs/FsStore.ts';
import { storeConformance } from './stores/storeConformance.ts';

const dirs: string[] = [];
test.after.always(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'visor-fs-store-'));
  dirs.push(dir);
  return dir;
}

storeConformance(test, {
  partSize: 0,
  open: async () => new FsStore({ name: 'fs-under-test', path: await freshDir() }),
});

// The disk refusing (EACCES, EIO, ENOTDIR...) is the store being unavailable, never an internal error
// (HTTP 500): tests run as root, where chmod 000 does not bite, so the errno errors come from paths
// that are not what they should be.
test('a raw errno failure of the disk is an unavailable error naming the store and the operation', async (t) => {
  const dir = await freshDir();
  const store = new GuardedStore(new FsStore({ name: 'fs-broken', path: dir }));
  await store.init();
  // An object whose file is a directory: opening it works, reading it fails with EISDIR.
  await mkdir(join(dir, 'im', 'image-dir'), { recursive: true });
  const reader = await store.openPositional!('image-dir');
  const eisdir = await t.throwsAsync(reader.read(Buffer.alloc(16), 0, 16), { instanceOf: VisorError });
  t.is(eisdir?.kind, 'unavailable');
  t.is(eisdir?.message, 'store fs-broken (fs): read of image-dir failed: EISDIR (read)');
  await reader.close();

  // A store folder that is a file: every operation meets ENOTDIR.
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  const onFile = new GuardedStore(new FsStore({ name: 'fs-on-file', path: file }));
  const failures: Array<[string, Promise<unknown>]> = [
    ['stat of image-1 failed: ENOTDIR', onFile.stat('image-1')],
    ['read of image-1 failed: ENOTDIR', onFile.read('image-1')],
    ['listing failed: ENOTDIR', (async () => { for await (const o of onFile.list()) void o; })()],
    ['write of image-1 failed: ENOTDIR', onFile.write('image-1').then(async (w) => {
      await pipeline(Readable.from([Buffer.from('bytes')]), w.stream).catch(() => undefined);
      await w.commit();
    })],
  ];
  for (const [message, failure] of failures) {
    const error = await t.throwsAsync(failure, { instanceOf: VisorError }, message);
    t.is(error?.kind, 'unavailable', message);
    t.true(error?.message.startsWith(`store fs-on-file (fs): ${message}`), error?.message);
    t.false(error?.message.includes(file), 'no path in the message');
  }
  // Missing objects stay not_found.
  t.is((await t.throwsAsync(store.read('image-missing'), { instanceOf: VisorError }))?.kind, 'not_found');
});

test('the health probe fails on a store folder that cannot take files, and leaves nothing behind on one that can', async (t) => {
  const dir = await freshDir();
  const file = join(dir, 'not-a-folder');
  await writeFile(file, 'x');
  const broken = await new GuardedStore(new FsStore({ name: 'fs-on-file', path: file })).health();
  t.false(broken.ok);
  t.regex(broken.detail ?? '', /^store fs-on-file \(fs\): health probe \(write\) failed: ENOTDIR/);

  const store = new GuardedStore(new FsStore({ name: 'fs-probed', path: join(dir, 'store') }));
  await store.init();
  t.deepEqual(await store.health(), { ok: true });
  const files = (await readdir(join(dir, 'store'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
  t.deepEqual(files.map((e) => e.name), []);
});

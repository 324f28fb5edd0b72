import test from 'ava';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { createStore } from '../src/store/createStore.ts';
import { MemoryStore } from '../src/store/memory/MemoryStore.ts';
import { storeConformance } from './stores/storeConformance.ts';

storeConformance(test, {
  partSize: 0,
  open: async () => new MemoryStore({ name: 'memory-under-test' }),
});

test('a memory store is configured like the others: a table with type = "memory" and an optional size cap', async (t) => {
  const config = loadConfig({ env: { HOME: '/h' }, overrides: { stores: { scratch: { type: 'memory', max_bytes: 1000 } } } });
  t.deepEqual(config.stores['scratch'], { type: 'memory', maxBytes: 1000 });
  const store = await createStore('scratch', config.stores['scratch']!);
  t.is(store.type, 'memory');
  t.deepEqual(await store.health(), { ok: true });

  // Past the cap, a write fails as a full disk does: the store is unavailable for it, nothing is kept.
  const w = await store.write('too-big');
  await t.throwsAsync(pipeline(Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), w.stream), { instanceOf: VisorError, message: /store scratch \(memory\): write of too-big failed: the store is full \(max_bytes 1000\)/ });
  await w.abort();
  t.is(await store.stat('too-big'), undefined);
  const fits = await store.write('fits');
  await pipeline(Readable.from([Buffer.alloc(1000)]), fits.stream);
  await fits.commit();
  t.is((await store.stat('fits'))?.size, 1000);
});

test('a memory store takes no settings but its cap', (t) => {
  const error = t.throws(() => loadConfig({ env: { HOME: '/h' }, overrides: { stores: { scratch: { type: 'memory', path: '/x' } } } }), { instanceOf: VisorError });
  t.is(error?.problems[0]?.field, 'stores.scratch.path');
  t.is(error?.message, 'stores.scratch.path: unknown setting for a store of type memory');
});

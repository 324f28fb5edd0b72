import type { ExecutionContext, TestFn } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageStore, IncompleteWrite, ObjectStat, StoreAdapter } from '../../src/store/ImageStore.ts';
import { GuardedStore } from '../../src/store/GuardedStore.ts';
import { VisorError } from '../../src/errors/VisorError.ts';

/** How a store under test is reached; each adapter's test file supplies one (~20 lines). */
export interface StoreFixture {
  /**
   * An adapter with working credentials over a fresh, empty namespace (bucket, container or folder).
   * The suite meets it as the core does: behind the GuardedStore that createStore puts around it.
   */
  open(): Promise<StoreAdapter>;
  /** The same store reached with wrong credentials, and the secrets it was given; absent if it takes none. */
  openWithBadCredentials?(): Promise<{ store: StoreAdapter; secrets: string[] }>;
  /** Part or segment size the fixture configured (0: no parts), so sizes straddle its boundaries. */
  partSize: number;
  /** Read-only stores: puts an object in place by the store's own means (the server's files). */
  seed?(key: string, data: Buffer): Promise<void>;
  /** Secrets the working store was given: no error message or health detail may carry one. */
  secrets?: string[];
  /** Prefix of the test titles, when one file runs the suite more than once. */
  label?: string;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const newKey = (label: string) => `${label}-${randomBytes(6).toString('hex')}`;

/** The keys one test uses: each test has its own, so what it leaves behind can be told apart. */
interface TestKeys {
  /** A fresh key, tracked. */
  key(label: string): string;
  /** Tracks a key the test made up itself (from a tracked one). */
  track(key: string): string;
  /** An object the test means to leave (a read-only store's files belong to their server). */
  keep(key: string): void;
}

/** A buffer as a stream of 64 KiB chunks, the way bytes arrive from a network. */
function chunked(data: Buffer, fail?: Error): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += 65536) yield data.subarray(i, i + 65536);
      if (fail) throw fail;
    })(),
  );
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function eventually(check: () => Promise<boolean>, ms = 15_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}

/**
 * The one suite every storage adapter passes (after distribution/distribution's driver test suite).
 * Registers its tests on `test`; the caller's file only says how to reach the store.
 */
export function storeConformance(test: TestFn, fixture: StoreFixture): void {
  const title = (text: string) => (fixture.label ? `${fixture.label}: ${text}` : text);
  let store: ImageStore;
  test.before(async () => {
    store = new GuardedStore(await fixture.open());
    await store.init();
  });
  test.after.always(async () => {
    await store?.close();
  });

  const readOnly = fixture.seed !== undefined;
  const part = fixture.partSize;
  const put = async (keys: TestKeys, key: string, data: Buffer): Promise<void> => {
    if (fixture.seed) {
      keys.keep(key);
      return fixture.seed(key, data);
    }
    const w = await store.write(key, { expectedSize: data.length });
    await pipeline(chunked(data), w.stream);
    await w.commit();
  };
  const visible = async (key: string): Promise<boolean> => (await store.stat(key)) !== undefined;
  const listed = async (prefix: string): Promise<ObjectStat[]> => collect(store.list(prefix));
  const leftoversOf = async (key: string): Promise<IncompleteWrite[]> => (await collect(store.incompleteWrites())).filter((w) => w.key === key);
  const assertNoSecret = (t: { false(v: boolean, m?: string): void }, text: string, secrets: string[] = fixture.secrets ?? []) => {
    for (const s of secrets) t.false(text.includes(s), `a secret appears in: ${text}`);
  };

  /**
   * A test of the suite, followed by the check that it left nothing behind: every key it used has
   * no object (unless kept) and no unfinished write. A failed test still has its keys cleared, so
   * the next tests start clean.
   */
  const storeTest = (text: string, body: (t: ExecutionContext, keys: TestKeys) => Promise<void>): void => {
    test(title(text), async (t) => {
      const used: string[] = [];
      const kept = new Set<string>();
      const keys: TestKeys = {
        key: (label) => keys.track(newKey(label)),
        track: (key) => (used.push(key), key),
        keep: (key) => void kept.add(key),
      };
      t.teardown(async () => {
        for (const key of used) {
          if (!kept.has(key)) await store.delete(key).catch(() => undefined);
          for (const w of await leftoversOf(key).catch(() => [])) await store.discardIncomplete(w).catch(() => undefined);
        }
      });
      await body(t, keys);
      const gone = async (): Promise<string[]> => {
        const left: string[] = [];
        const unfinished = new Set((await collect(store.incompleteWrites())).map((w) => w.key));
        for (const key of used) {
          if (!kept.has(key) && (await visible(key))) left.push(`object ${key}`);
          if (unfinished.has(key)) left.push(`unfinished write of ${key}`);
        }
        return left;
      };
      // Settled within seconds: some stores discard what a cancelled write sent in the background.
      if ((await gone()).length > 0) await eventually(async () => (await gone()).length === 0, 5_000);
      t.deepEqual(await gone(), [], 'left behind by the test');
    });
  };

  storeTest('health: a working store reports ok', async (t) => {
    const h = await store.health();
    t.true(h.ok, h.detail);
  });

  const sizes = [...new Set([0, 1, 1000, ...(part > 0 ? [part - 1, part, part + 1, 2 * part + 7] : [256 * 1024 + 3])])];
  for (const size of sizes) {
    storeTest(`round trip of ${size} bytes: stat, list and read give back what was written`, async (t, keys) => {
      const key = keys.key(`size${size}`);
      const data = randomBytes(size);
      await put(keys, key, data);
      t.is((await store.stat(key))?.size, size);
      t.is(sha(await readAll(await store.read(key))), sha(data));
      if (!readOnly) t.deepEqual((await listed(key)).map((o) => [o.key, o.size]), [[key, size]]);
      await store.delete(key);
    });
  }

  storeTest('missing objects: stat is undefined, read rejects not_found, delete is a no-op', async (t, keys) => {
    const key = keys.key('missing');
    t.is(await store.stat(key), undefined);
    const error = await t.throwsAsync(store.read(key), { instanceOf: VisorError });
    t.is(error?.kind, 'not_found');
    t.regex(error?.message ?? '', new RegExp(store.name));
    await t.notThrowsAsync(store.delete(key));
  });

  storeTest('keys that could leave the store namespace are refused', async (t) => {
    for (const key of ['../escape', 'a/../../b', '/absolute', '', '.hidden']) {
      const error = await t.throwsAsync(store.read(key), { instanceOf: VisorError }, key);
      t.is(error?.kind, 'invalid', key);
    }
  });

  storeTest('ranges: first byte, last byte, whole, across a part boundary, and an end past the last byte', async (t, keys) => {
    const size = part > 0 ? 2 * part + 10 : 100_000;
    const data = randomBytes(size);
    const key = keys.key('ranges');
    await put(keys, key, data);
    const p = part > 0 ? part : 40_000;
    const cases: Array<[number, number]> = [[0, 0], [size - 1, size - 1], [0, size - 1], [p - 1, p], [p - 3, 2 * p + 2], [17, 17 + 9], [size - 5, size + 1000]];
    for (const [start, end] of cases) {
      const got = await readAll(await store.read(key, { start, end }));
      // Compared by digest: ava's deepEqual on megabytes of Buffer blocks the event loop for seconds.
      t.is(sha(got), sha(data.subarray(start, Math.min(end, size - 1) + 1)), `${start}-${end}`);
    }
    await store.delete(key);
  });

  storeTest('positional reads (stores that offer them): bytes at any offset into the caller\'s buffer, 0 at the end, not_found for a missing object', async (t, keys) => {
    if (!store.openPositional) {
      t.log(`${store.type} offers no positional reads`);
      t.pass();
      return;
    }
    const size = part > 0 ? 2 * part + 10 : 300_000;
    const data = randomBytes(size);
    const key = keys.key('positional');
    await put(keys, key, data);
    const reader = await store.openPositional(key);
    try {
      const buffer = Buffer.alloc(65536);
      const at = async (position: number, length: number): Promise<Buffer> => buffer.subarray(0, await reader.read(buffer, position, length));
      t.is(sha(await at(0, 1000)), sha(data.subarray(0, 1000)), 'the start');
      t.is(sha(await at(12_345, 7)), sha(data.subarray(12_345, 12_352)), 'a few bytes from the middle, the rest of the buffer untouched by the count');
      t.is(sha(await at(size - 10, 1000)), sha(data.subarray(size - 10)), 'a read past the end gives what is left');
      t.is(await reader.read(buffer, size, 1000), 0, 'at the end: 0');
      t.is(await reader.read(buffer, size + 5000, 1000), 0, 'past the end: 0');
      // The whole object through one reused buffer, out of order, as a sender with a few buffers does.
      const whole = Buffer.alloc(size);
      const offsets = Array.from({ length: Math.ceil(size / buffer.length) }, (_, i) => i * buffer.length).reverse();
      for (const offset of offsets) (await at(offset, buffer.length)).copy(whole, offset);
      t.is(sha(whole), sha(data));
    } finally {
      await reader.close();
    }
    t.is((await t.throwsAsync(store.openPositional(keys.key('positional-missing')), { instanceOf: VisorError }))?.kind, 'not_found');
    t.is((await t.throwsAsync(store.openPositional('../escape'), { instanceOf: VisorError }))?.kind, 'invalid');
    await store.delete(key);
  });

  storeTest('concurrent readers of one object each get all of it', async (t, keys) => {
    const data = randomBytes(part > 0 ? part + 4321 : 300_000);
    const key = keys.key('concurrent');
    await put(keys, key, data);
    const reads = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => (i % 2 === 0 ? readAll(await store.read(key)) : readAll(await store.read(key, { start: i, end: data.length - 1 })))));
    reads.forEach((r, i) => t.is(sha(r), sha(i % 2 === 0 ? data : data.subarray(i)), `reader ${i}`));
    await store.delete(key);
  });

  storeTest('a read can be cancelled by its signal', async (t, keys) => {
    const data = randomBytes(part > 0 ? 2 * part : 2 * 1024 * 1024);
    const key = keys.key('cancelread');
    await put(keys, key, data);
    const controller = new AbortController();
    const stream = await store.read(key, undefined, controller.signal);
    let bytes = 0;
    const consumed = (async () => {
      for await (const chunk of stream) {
        bytes += (chunk as Buffer).length;
        if (bytes > 0) controller.abort();
      }
    })();
    await t.throwsAsync(consumed);
    t.true(bytes < data.length);
    await store.delete(key);
  });

  if (readOnly) {
    storeTest('a read-only store refuses writes and leaves objects in place on delete', async (t, keys) => {
      const key = keys.key('ro');
      await put(keys, key, Buffer.from('kept'));
      const error = await t.throwsAsync(store.write(key), { instanceOf: VisorError });
      t.is(error?.kind, 'conflict');
      t.false(store.writable);
      await store.delete(key);
      t.is((await readAll(await store.read(key))).toString(), 'kept');
    });
  } else {
    storeTest('nothing is visible before commit, everything after', async (t, keys) => {
      const key = keys.key('commit');
      const data = randomBytes(part > 0 ? part + 1 : 10_000);
      const w = await store.write(key);
      await pipeline(chunked(data), w.stream);
      t.false(await visible(key), 'visible before commit');
      t.deepEqual(await listed(key), []);
      await w.commit();
      t.is((await store.stat(key))?.size, data.length);
      await store.delete(key);
    });

    storeTest('abort() discards a write: nothing visible, nothing left behind, and the key can be written again', async (t, keys) => {
      const key = keys.key('abort');
      const w = await store.write(key);
      const data = randomBytes(part > 0 ? part * 2 + 5 : 100_000);
      w.stream.write(data);
      await sleep(200);
      await w.abort();
      t.false(await visible(key));
      t.deepEqual(await leftoversOf(key), []);
      await put(keys, key, Buffer.from('second'));
      t.is((await readAll(await store.read(key))).toString(), 'second');
      await store.delete(key);
    });

    storeTest('a write cancelled by its signal leaves nothing visible and nothing behind', async (t, keys) => {
      const key = keys.key('signal');
      const controller = new AbortController();
      const w = await store.write(key, { signal: controller.signal });
      // A source that keeps sending until the signal fires, after more than two parts went out.
      const threshold = part > 0 ? part * 2 + 5 : 100_000;
      const source = Readable.from(
        (async function* () {
          let sent = 0;
          for (let i = 0; i < 100_000; i++) {
            yield randomBytes(65536);
            sent += 65536;
            if (sent > threshold && !controller.signal.aborted) setTimeout(() => controller.abort(), 20);
            if (sent > threshold) await sleep(5);
          }
        })(),
      );
      await t.throwsAsync(pipeline(source, w.stream));
      await t.throwsAsync(w.commit(), undefined, 'a cancelled write cannot be committed');
      t.false(await visible(key));
      t.true(await eventually(async () => (await leftoversOf(key)).length === 0), 'leftovers removed');
    });

    storeTest('a write whose source fails is aborted: nothing visible, nothing behind', async (t, keys) => {
      const key = keys.key('failed');
      const w = await store.write(key);
      const data = randomBytes(part > 0 ? part + 100 : 100_000);
      await t.throwsAsync(pipeline(chunked(data, new Error('source broke')), w.stream), { message: 'source broke' });
      await w.abort();
      t.false(await visible(key));
      t.deepEqual(await leftoversOf(key), []);
    });

    storeTest('a second committed write replaces the object', async (t, keys) => {
      const key = keys.key('overwrite');
      await put(keys, key, randomBytes(part > 0 ? part + 3 : 5000));
      const second = randomBytes(part > 0 ? 2 * part + 1 : 7000);
      await put(keys, key, second);
      t.is(sha(await readAll(await store.read(key))), sha(second));
      t.is((await store.stat(key))?.size, second.length);
      await store.delete(key);
    });

    storeTest('delete removes an object for good', async (t, keys) => {
      const key = keys.key('delete');
      await put(keys, key, randomBytes(part > 0 ? part + 1 : 1000));
      await store.delete(key);
      t.false(await visible(key));
      t.is((await t.throwsAsync(store.read(key), { instanceOf: VisorError }))?.kind, 'not_found');
      t.deepEqual(await listed(key), []);
      await t.notThrowsAsync(store.delete(key));
    });

    storeTest('list gives the objects under a prefix, with their sizes', async (t, keys) => {
      const prefix = keys.key('list');
      const sizes: Record<string, number> = { [keys.track(`${prefix}-a`)]: 3, [keys.track(`${prefix}-b`)]: 0, [keys.track(`${prefix}-c`)]: 1234 };
      for (const [key, size] of Object.entries(sizes)) await put(keys, key, randomBytes(size));
      const other = keys.key('other');
      await put(keys, other, Buffer.from('x'));
      const found = Object.fromEntries((await listed(prefix)).map((o) => [o.key, o.size]));
      t.deepEqual(found, sizes);
      for (const key of [...Object.keys(sizes), other]) await store.delete(key);
    });

    storeTest('a write neither committed nor aborted (a crash) is found as incomplete and discarded by gc', async (t, keys) => {
      const key = keys.key('crash');
      const w = await store.write(key);
      // Bytes past a part boundary, so a multipart upload or a segment exists on the store's side.
      w.stream.write(randomBytes(part > 0 ? 2 * part + 100 : 50_000));
      t.true(await eventually(async () => (await leftoversOf(key)).length > 0), 'the leftover is found');
      t.false(await visible(key));
      for (const leftover of await leftoversOf(key)) await store.discardIncomplete(leftover);
      t.deepEqual(await leftoversOf(key), []);
      // The crashed writer is gone in real life; here, end it without it breaking anything.
      w.stream.destroy();
      await finished(w.stream).catch(() => undefined);
      await w.abort().catch(() => undefined);
      t.false(await visible(key));
    });
  }

  if (fixture.openWithBadCredentials) {
    test(title('bad credentials: health says so, operations fail with an error naming the store, no secret shows'), async (t) => {
      const opened = await fixture.openWithBadCredentials!();
      const bad = new GuardedStore(opened.store);
      const secrets = opened.secrets;
      try {
        const h = await bad.health();
        t.false(h.ok);
        t.truthy(h.detail);
        assertNoSecret(t, h.detail ?? '', secrets);
        const failures = [bad.stat('anything'), bad.read('anything'), ...(readOnly ? [] : [bad.write('anything').then(async (w) => {
          await pipeline(chunked(randomBytes(part > 0 ? part + 1 : 1000)), w.stream);
          await w.commit();
        })])];
        for (const failure of failures) {
          const error = await t.throwsAsync(failure, { instanceOf: VisorError });
          t.is(error?.kind, 'unavailable', error?.message);
          t.regex(error?.message ?? '', new RegExp(`store ${bad.name}`));
          assertNoSecret(t, `${error?.message} ${JSON.stringify(error)}`, secrets);
        }
      } finally {
        await bad.close();
      }
    });
  }
}

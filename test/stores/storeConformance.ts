import type { TestFn } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ImageStore, IncompleteWrite, ObjectStat } from '../../src/store/ImageStore.ts';
import { VisorError } from '../../src/errors/VisorError.ts';

/** How a store under test is reached; each adapter's test file supplies one (~20 lines). */
export interface StoreFixture {
  /** A store with working credentials over a fresh, empty namespace (bucket, container or folder). */
  open(): Promise<ImageStore>;
  /** The same store reached with wrong credentials, and the secrets it was given; absent if it takes none. */
  openWithBadCredentials?(): Promise<{ store: ImageStore; secrets: string[] }>;
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
    store = await fixture.open();
    await store.init();
  });
  test.after.always(async () => {
    await store?.close();
  });

  const readOnly = fixture.seed !== undefined;
  const part = fixture.partSize;
  const put = async (key: string, data: Buffer): Promise<void> => {
    if (fixture.seed) return fixture.seed(key, data);
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

  test(title('health: a working store reports ok'), async (t) => {
    const h = await store.health();
    t.true(h.ok, h.detail);
  });

  const sizes = [...new Set([0, 1, 1000, ...(part > 0 ? [part - 1, part, part + 1, 2 * part + 7] : [256 * 1024 + 3])])];
  for (const size of sizes) {
    test(title(`round trip of ${size} bytes: stat, list and read give back what was written`), async (t) => {
      const key = newKey(`size${size}`);
      const data = randomBytes(size);
      await put(key, data);
      t.is((await store.stat(key))?.size, size);
      t.is(sha(await readAll(await store.read(key))), sha(data));
      if (!readOnly) t.deepEqual((await listed(key)).map((o) => [o.key, o.size]), [[key, size]]);
    });
  }

  test(title('missing objects: stat is undefined, read rejects not_found, delete is a no-op'), async (t) => {
    const key = newKey('missing');
    t.is(await store.stat(key), undefined);
    const error = await t.throwsAsync(store.read(key), { instanceOf: VisorError });
    t.is(error?.kind, 'not_found');
    t.regex(error?.message ?? '', new RegExp(store.name));
    await t.notThrowsAsync(store.delete(key));
  });

  test(title('keys that could leave the store namespace are refused'), async (t) => {
    for (const key of ['../escape', 'a/../../b', '/absolute', '']) {
      const error = await t.throwsAsync(store.read(key), { instanceOf: VisorError }, key);
      t.is(error?.kind, 'invalid', key);
    }
  });

  test(title('ranges: first byte, last byte, whole, across a part boundary, and an end past the last byte'), async (t) => {
    const size = part > 0 ? 2 * part + 10 : 100_000;
    const data = randomBytes(size);
    const key = newKey('ranges');
    await put(key, data);
    const p = part > 0 ? part : 40_000;
    const cases: Array<[number, number]> = [[0, 0], [size - 1, size - 1], [0, size - 1], [p - 1, p], [p - 3, 2 * p + 2], [17, 17 + 9], [size - 5, size + 1000]];
    for (const [start, end] of cases) {
      const got = await readAll(await store.read(key, { start, end }));
      // Compared by digest: ava's deepEqual on megabytes of Buffer blocks the event loop for seconds.
      t.is(sha(got), sha(data.subarray(start, Math.min(end, size - 1) + 1)), `${start}-${end}`);
    }
  });

  test(title('concurrent readers of one object each get all of it'), async (t) => {
    const data = randomBytes(part > 0 ? part + 4321 : 300_000);
    const key = newKey('concurrent');
    await put(key, data);
    const reads = await Promise.all([0, 1, 2, 3, 4, 5].map(async (i) => (i % 2 === 0 ? readAll(await store.read(key)) : readAll(await store.read(key, { start: i, end: data.length - 1 })))));
    reads.forEach((r, i) => t.is(sha(r), sha(i % 2 === 0 ? data : data.subarray(i)), `reader ${i}`));
  });

  test(title('a read can be cancelled by its signal'), async (t) => {
    const data = randomBytes(part > 0 ? 2 * part : 2 * 1024 * 1024);
    const key = newKey('cancelread');
    await put(key, data);
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
  });

  if (readOnly) {
    test(title('a read-only store refuses writes and leaves objects in place on delete'), async (t) => {
      const key = newKey('ro');
      await put(key, Buffer.from('kept'));
      const error = await t.throwsAsync(store.write(key), { instanceOf: VisorError });
      t.is(error?.kind, 'conflict');
      t.false(store.writable);
      await store.delete(key);
      t.is((await readAll(await store.read(key))).toString(), 'kept');
    });
  } else {
    test(title('nothing is visible before commit, everything after'), async (t) => {
      const key = newKey('commit');
      const data = randomBytes(part > 0 ? part + 1 : 10_000);
      const w = await store.write(key);
      await pipeline(chunked(data), w.stream);
      t.false(await visible(key), 'visible before commit');
      t.deepEqual(await listed(key), []);
      await w.commit();
      t.is((await store.stat(key))?.size, data.length);
    });

    test(title('abort() discards a write: nothing visible, nothing left behind, and the key can be written again'), async (t) => {
      const key = newKey('abort');
      const w = await store.write(key);
      const data = randomBytes(part > 0 ? part * 2 + 5 : 100_000);
      w.stream.write(data);
      await sleep(200);
      await w.abort();
      t.false(await visible(key));
      t.deepEqual(await leftoversOf(key), []);
      await put(key, Buffer.from('second'));
      t.is((await readAll(await store.read(key))).toString(), 'second');
    });

    test(title('a write cancelled by its signal leaves nothing visible and nothing behind'), async (t) => {
      const key = newKey('signal');
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

    test(title('a write whose source fails is aborted: nothing visible, nothing behind'), async (t) => {
      const key = newKey('failed');
      const w = await store.write(key);
      const data = randomBytes(part > 0 ? part + 100 : 100_000);
      await t.throwsAsync(pipeline(chunked(data, new Error('source broke')), w.stream), { message: 'source broke' });
      await w.abort();
      t.false(await visible(key));
      t.deepEqual(await leftoversOf(key), []);
    });

    test(title('a second committed write replaces the object'), async (t) => {
      const key = newKey('overwrite');
      await put(key, randomBytes(part > 0 ? part + 3 : 5000));
      const second = randomBytes(part > 0 ? 2 * part + 1 : 7000);
      await put(key, second);
      t.is(sha(await readAll(await store.read(key))), sha(second));
      t.is((await store.stat(key))?.size, second.length);
    });

    test(title('delete removes an object for good'), async (t) => {
      const key = newKey('delete');
      await put(key, randomBytes(part > 0 ? part + 1 : 1000));
      await store.delete(key);
      t.false(await visible(key));
      t.is((await t.throwsAsync(store.read(key), { instanceOf: VisorError }))?.kind, 'not_found');
      t.deepEqual(await listed(key), []);
      await t.notThrowsAsync(store.delete(key));
    });

    test(title('list gives the objects under a prefix, with their sizes'), async (t) => {
      const prefix = newKey('list');
      const sizes: Record<string, number> = { [`${prefix}-a`]: 3, [`${prefix}-b`]: 0, [`${prefix}-c`]: 1234 };
      for (const [key, size] of Object.entries(sizes)) await put(key, randomBytes(size));
      await put(newKey('other'), Buffer.from('x'));
      const found = Object.fromEntries((await listed(prefix)).map((o) => [o.key, o.size]));
      t.deepEqual(found, sizes);
    });

    test(title('a write neither committed nor aborted (a crash) is found as incomplete and discarded by gc'), async (t) => {
      const key = newKey('crash');
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
      const { store: bad, secrets } = await fixture.openWithBadCredentials!();
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

import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StoreAdapter, StoreHealth } from './ImageStore.ts';

/**
 * Keys of the probe's objects. They start with "." so no caller's key can be one (the key rule
 * refuses it) and adapters leave them out of listings and of their unfinished writes.
 */
export const PROBE_KEY_PREFIX = '.visor-health-';

/**
 * How long a probe may take before it is abandoned (its write aborted, its object removed). Above
 * VisorCore's 10 s wait for /health on purpose: a store on a loaded machine is slow, not broken (the
 * s3 conformance run here once took over 8 s for one probe's put, get and delete), and the probe
 * must still finish or clean up after /health stopped waiting for it.
 */
export const PROBE_TIMEOUT_MS = 30_000;

const PROBE_BYTES = Buffer.from('visor health probe\n');

/**
 * The one health probe of every store, run through the adapter's own operations: a writable store
 * takes a small object, gives it back byte for byte and deletes it (credentials, permissions, a full
 * or read-only disk, a missing container all show); a read-only store is asked for an object that is
 * not there, and any clean answer means it serves. Bounded by `timeoutMs`; never throws.
 */
export async function probeHealth(store: StoreAdapter, describe: (error: unknown, operation: string) => string, timeoutMs = PROBE_TIMEOUT_MS): Promise<StoreHealth> {
  const key = `${PROBE_KEY_PREFIX}${randomBytes(6).toString('hex')}`;
  const controller = new AbortController();
  let step = 'health probe';
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<StoreHealth>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve({ ok: false, detail: `store ${store.name} (${store.type}): no answer to the ${step} within ${timeoutMs} ms` });
    }, timeoutMs);
  });
  const probe = async (): Promise<StoreHealth> => {
    if (!store.writable) {
      step = 'health probe (stat)';
      await store.stat(key);
      return { ok: true };
    }
    let written = false;
    try {
      step = 'health probe (write)';
      const write = await store.write(key, { signal: controller.signal, expectedSize: PROBE_BYTES.length });
      try {
        await pipeline(Readable.from([PROBE_BYTES]), write.stream);
        await write.commit();
        written = true;
      } catch (e) {
        await write.abort().catch(() => undefined);
        throw e;
      }
      step = 'health probe (read)';
      const back = await readAll(await store.read(key, undefined, controller.signal));
      if (!back.equals(PROBE_BYTES)) return { ok: false, detail: `store ${store.name} (${store.type}): the health probe's object read back differently` };
      step = 'health probe (delete)';
      await store.delete(key);
      written = false;
      return { ok: true };
    } finally {
      // A probe object left by a failed read is removed all the same, without holding up the answer.
      if (written) void store.delete(key).catch(() => undefined);
    }
  };
  try {
    return await Promise.race([probe().catch((e: unknown): StoreHealth => ({ ok: false, detail: describe(e, step) })), expired]);
  } finally {
    clearTimeout(timer);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

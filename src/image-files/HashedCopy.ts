import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Writable, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { tooLarge } from '../errors/VisorError.ts';
import { RELEASE_EVERY_BYTES, releaseDeadChunks } from '../heap/DeadChunks.ts';
import { holdYoungGeneration } from '../heap/YoungGenerationHold.ts';
import { TransferEnds, type TransferBlame } from './TransferEnds.ts';

/** A digest as VISOR writes it: "<algorithm>:<hex>". */
export const CHECKSUM_PATTERN = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

export function algorithmOf(checksum: string): DigestAlgorithm {
  return checksum.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/** Digests a copy can compute besides its checksum, for clients that verify them (Glance v2). */
export type ExtraDigest = 'md5' | 'sha512';

/**
 * The digest Glance v2 clients verify besides VISOR's checksum: md5 (`checksum`, the one openstack's
 * SDK checks). Their multihash (`os_hash_algo`, `os_hash_value`, which glanceclient checks) is
 * VISOR's own checksum, as a Glance configured with that `hashing_algorithm` would give it: a sha512
 * as well took /v2 uploads from ~0.75x to ~0.56x of VISOR's own on this 2-core machine, and md5 on a
 * thread of its own was measured no faster than here (0.78x against 0.73x; the client and the
 * writes already use the second core).
 */
export const CLIENT_DIGESTS: readonly ExtraDigest[] = ['md5'];

export interface HashedCopy {
  bytes: number;
  /** "<algorithm>:<hex>". */
  checksum: string;
  /** Hex digests asked for with `alsoDigest`, the checksum's own algorithm left out. */
  digests: Partial<Record<ExtraDigest, string>>;
}

export interface CopyOptions {
  /** Cancels the copy: every wait ends with it. */
  signal?: AbortSignal | undefined;
  /** What a failure of either end means to the caller. */
  blame?: TransferBlame;
  /**
   * Leave the source open on failure: an HTTP request's body, whose answer is still to be sent (a
   * destroyed request takes its socket with it). Otherwise a failed copy destroys its source.
   */
  keepSource?: boolean;
  /**
   * Shown every chunk as it passes (format inspection, a malware scan): the same pass, never a second
   * read. A promise it answers (a scanner's socket is full) is waited for: back-pressure, like the sink's.
   */
  observe?: ((chunk: Buffer) => void | Promise<void>) | undefined;
  /** Digests to compute in the same pass besides the checksum (one the checksum already is, is not computed twice). */
  alsoDigest?: readonly ExtraDigest[];
}

/**
 * Copies a body into a sink while hashing it, stopping past `limit` bytes with a too_large error.
 * Hashing stays on this thread: a worker-thread variant was measured no faster here (220 against
 * 261 MB/s on a 2-core machine whose second core the client and the writes already use).
 * Back-pressure from the sink pauses the body, and chunks passed on are freed every few MiB
 * (DeadChunks.ts) while the young generation is held at its size (YoungGenerationHold.ts), so memory
 * stays flat whatever the size. Every wait (the next chunk, the sink's drain, its finish) also ends
 * with the first failure of either end or with the signal (TransferEnds), so a store that dies
 * mid-stream fails the copy instead of hanging it. The sink is ended on success and left to the
 * caller on failure; the body is destroyed on failure unless kept.
 */
export async function hashedCopy(body: Readable, sink: Writable, algorithm: DigestAlgorithm, limit: number, options: CopyOptions = {}): Promise<HashedCopy> {
  const hash = createHash(algorithm);
  const extras = (options.alsoDigest ?? []).filter((a) => a !== algorithm).map((a) => [a, createHash(a)] as const);
  let bytes = 0;
  let sinceRelease = 0;
  const ends = new TransferEnds({ source: body, sink, signal: options.signal, blame: options.blame });
  const releaseYoungGeneration = holdYoungGeneration();
  try {
    const chunks = body.iterator({ destroyOnReturn: false });
    for (;;) {
      const next = await ends.race(chunks.next(), 'source');
      if (next.done) break;
      const chunk = next.value as Buffer;
      bytes += chunk.length;
      if (bytes > limit) throw tooLarge(`upload exceeds the limit of ${limit} bytes`);
      hash.update(chunk);
      for (const [, extra] of extras) extra.update(chunk);
      const observed = options.observe?.(chunk);
      if (observed) await ends.race(observed, 'sink');
      if (!sink.write(chunk)) await ends.race(once(sink, 'drain', { signal: ends.over }), 'sink');
      sinceRelease += chunk.length;
      if (sinceRelease >= RELEASE_EVERY_BYTES) {
        sinceRelease = 0;
        releaseDeadChunks();
      }
    }
    sink.end();
    await ends.race(finished(sink, { cleanup: true }), 'sink');
  } catch (e) {
    if (!options.keepSource) body.destroy();
    throw e;
  } finally {
    ends.close();
    releaseYoungGeneration();
  }
  return { bytes, checksum: `${algorithm}:${hash.digest('hex')}`, digests: Object.fromEntries(extras.map(([a, h]) => [a, h.digest('hex')])) };
}

/** The digest of a stream, read to its end: bytes go nowhere. */
export async function digestOf(stream: Readable, algorithm: DigestAlgorithm, limit: number, options: CopyOptions = {}): Promise<HashedCopy> {
  return hashedCopy(stream, new Writable({ write: (_c, _e, cb) => cb() }), algorithm, limit, options);
}

import { Worker } from 'node:worker_threads';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { tooLarge } from '../errors/VisorError.ts';

const SLOTS = 4;
const SLOT_BYTES = 1 << 20;

type Reply = { type: 'done'; job: number; slot: number } | { type: 'digest'; job: number; hex: string };

/**
 * One long-lived thread that hashes uploads. Hashing on the receiving thread made an upload cost
 * receive + hash (~550 MB/s here); on its own thread it overlaps with receiving and writing.
 */
class HashThread {
  private worker: Worker | undefined;
  private nextJob = 1;
  private readonly waiting = new Map<string, { resolve: (v: string) => void; reject: (e: Error) => void }>();

  private get thread(): Worker {
    if (!this.worker) {
      const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
      const worker = new Worker(new URL(`./hashWorkerThread.${ext}`, import.meta.url));
      worker.on('message', (r: Reply) => {
        const key = r.type === 'done' ? `${r.job}:${r.slot}` : `${r.job}:digest`;
        const w = this.waiting.get(key);
        this.waiting.delete(key);
        if (this.waiting.size === 0) worker.unref();
        w?.resolve(r.type === 'digest' ? r.hex : '');
      });
      const fail = (error: Error) => {
        for (const w of this.waiting.values()) w.reject(error);
        this.waiting.clear();
        this.worker = undefined;
      };
      worker.on('error', fail);
      worker.on('exit', () => fail(new Error('the hashing thread stopped')));
      // Held only while a reply is awaited (see request); idle, it must not keep a process alive.
      // After the listeners: adding a 'message' listener takes a reference again.
      worker.unref();
      this.worker = worker;
    }
    return this.worker;
  }

  start(algorithm: DigestAlgorithm, memory: SharedArrayBuffer): number {
    const job = this.nextJob++;
    this.thread.postMessage({ type: 'start', job, algorithm, memory, slotBytes: SLOT_BYTES });
    return job;
  }

  private request(key: string, message: object): Promise<string> {
    const thread = this.thread;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) thread.ref();
      this.waiting.set(key, { resolve, reject });
      thread.postMessage(message);
    });
  }

  update(job: number, slot: number, length: number): Promise<string> {
    return this.request(`${job}:${slot}`, { type: 'update', job, slot, length });
  }

  digest(job: number): Promise<string> {
    return this.request(`${job}:digest`, { type: 'end', job });
  }
}

const hashThread = new HashThread();

export interface HashedCopy {
  bytes: number;
  /** "<algorithm>:<hex>". */
  checksum: string;
}

/**
 * Copies a body into a sink while hashing it on the hashing thread. Bytes are gathered in a few 1 MiB
 * slots of shared memory that the hashing thread reads; the sink is sent a copy of each slot, and a
 * slot is filled again once both have taken it, which bounds memory whatever the upload's size. Past `limit` bytes the copy
 * stops with a too_large error. The sink is ended on success and left to the caller on failure.
 */
export async function hashedCopy(body: Readable, sink: Writable, algorithm: DigestAlgorithm, limit: number): Promise<HashedCopy> {
  const memory = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  const job = hashThread.start(algorithm, memory);
  const busy: Array<Promise<unknown> | undefined> = new Array(SLOTS).fill(undefined);
  let slot = 0;
  let fill = 0;
  let bytes = 0;
  let sinkError: Error | undefined;
  sink.once('error', (e: Error) => (sinkError = e));

  const dispatch = async (): Promise<void> => {
    // The sink gets its own copy: a Writable may keep a chunk after its callback (collecting a
    // multipart part, say), and the slot is about to be filled again. The copy costs ~0.1 ms a MiB.
    const copy = Buffer.from(Buffer.from(memory, slot * SLOT_BYTES, fill));
    const hashed = hashThread.update(job, slot, fill);
    const written = new Promise<void>((resolve, reject) => sink.write(copy, (e) => (e ? reject(e) : resolve())));
    const both = Promise.all([hashed, written]);
    // Marked handled now; whoever awaits it later still sees a failure.
    both.catch(() => undefined);
    busy[slot] = both;
    slot = (slot + 1) % SLOTS;
    fill = 0;
    await busy[slot];
    if (sinkError) throw sinkError;
  };

  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > limit) throw tooLarge(`upload exceeds the limit of ${limit} bytes`);
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(chunk.length - offset, SLOT_BYTES - fill);
        chunk.copy(Buffer.from(memory, slot * SLOT_BYTES + fill, n), 0, offset, offset + n);
        fill += n;
        offset += n;
        if (fill === SLOT_BYTES) await dispatch();
      }
    }
    if (fill > 0) await dispatch();
    await Promise.all(busy);
  } catch (error) {
    // Let the hashing thread forget the job; its digest is of no use now.
    hashThread.digest(job).catch(() => undefined);
    throw error;
  }
  const hex = await hashThread.digest(job);
  sink.end();
  await finished(sink);
  return { bytes, checksum: `${algorithm}:${hex}` };
}

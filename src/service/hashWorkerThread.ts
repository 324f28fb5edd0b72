// The hashing thread of UploadHasher: digests slots of shared memory in the order they arrive.
import { parentPort } from 'node:worker_threads';
import { createHash, type Hash } from 'node:crypto';

interface Job {
  hash: Hash;
  memory: SharedArrayBuffer;
  slotBytes: number;
}

type Message =
  | { type: 'start'; job: number; algorithm: string; memory: SharedArrayBuffer; slotBytes: number }
  | { type: 'update'; job: number; slot: number; length: number }
  | { type: 'end'; job: number };

const jobs = new Map<number, Job>();

parentPort!.on('message', (m: Message) => {
  if (m.type === 'start') {
    jobs.set(m.job, { hash: createHash(m.algorithm), memory: m.memory, slotBytes: m.slotBytes });
  } else if (m.type === 'update') {
    const job = jobs.get(m.job)!;
    job.hash.update(new Uint8Array(job.memory, m.slot * job.slotBytes, m.length));
    parentPort!.postMessage({ type: 'done', job: m.job, slot: m.slot });
  } else {
    const job = jobs.get(m.job)!;
    jobs.delete(m.job);
    parentPort!.postMessage({ type: 'digest', job: m.job, hex: job.hash.digest('hex') });
  }
});

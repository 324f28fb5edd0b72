import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { ImageSchema } from './ImageSchema.ts';
import { scanShardQueue } from './CatalogScanner.ts';
import { sortedPositions } from './CatalogIndex.ts';
import { DEFAULT_ORDER } from './ImageQuery.ts';
import type { ScanMessage } from './ParallelScan.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';

// The worker half of ParallelScan: takes shards from the shared counter until none are left,
// sending the records of each (their files' bytes) before it takes the next; at the end, the order
// of all it sent in the default order.
const { dir, shards, counter, port } = workerData as { dir: string; shards: string[]; counter: SharedArrayBuffer; port: MessagePort };
const next = new Int32Array(counter);
/** A shard's ~400 records of ~1 KB fit; a larger one grows it. */
const FIRST_SIZE = 1 << 20;
/**
 * A buffer for a shard's bytes: one the main thread has parsed and handed back, else a new one.
 * Reused, because fresh memory is slow here: each new page faults in on first write, and new
 * buffers for 256 shards were ~0.6 s of this thread's CPU at 100,000 records.
 */
const spare: ArrayBuffer[] = [];
function allocate(size: number): Buffer {
  for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) spare.push(m.message as ArrayBuffer);
  const i = spare.findIndex((b) => b.byteLength >= size);
  return Buffer.from(i >= 0 ? spare.splice(i, 1)[0]! : new ArrayBuffer(size));
}
let bytes = allocate(FIRST_SIZE);
let used = 0;
let ends: number[] = [];
// Only the sort keys of what was sent stay here, not the records: the main thread holds those, and
// what this thread's heap grew to stayed resident after it ended (measured at 100,000 images: 50-85 MB
// at the daemon's ready, given back only by a memory-reducing collection ~15 s later).
const sent: Pick<ImageRecord, 'id' | typeof DEFAULT_ORDER.sort>[] = [];
const { problems } = scanShardQueue(
  dir,
  new ImageSchema(),
  shards,
  () => {
    if (ends.length > 0) {
      // The bytes move to the main thread (transferred, not copied), and another buffer takes their place.
      const message: ScanMessage = { bytes: bytes.buffer as ArrayBuffer, ends: Int32Array.from(ends) };
      port.postMessage(message, [message.bytes, message.ends.buffer as ArrayBuffer]);
      bytes = allocate(FIRST_SIZE);
      used = 0;
      ends = [];
    }
    return Atomics.add(next, 0, 1);
  },
  (record, text) => {
    const length = Buffer.byteLength(text);
    if (used + length > bytes.length) {
      const larger = allocate(Math.max(bytes.length * 2, used + length));
      bytes.copy(larger, 0, 0, used);
      bytes = larger;
    }
    used += bytes.write(text, used);
    ends.push(used);
    sent.push({ id: record.id, [DEFAULT_ORDER.sort]: record[DEFAULT_ORDER.sort] });
  },
);
const newestFirst = sortedPositions(sent, DEFAULT_ORDER.sort, DEFAULT_ORDER.dir);
const done: ScanMessage = { done: true, problems, newestFirst };
port.postMessage(done, [newestFirst.buffer]);
port.close();

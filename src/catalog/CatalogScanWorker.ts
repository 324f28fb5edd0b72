import { workerData, type MessagePort, type TransferListItem } from 'node:worker_threads';
import { ImageSchema } from './ImageSchema.ts';
import { scanShardQueue } from './CatalogScanner.ts';
import { sortedPositions } from './CatalogIndex.ts';
import { DEFAULT_ORDER } from './ImageQuery.ts';
import type { ScanMessage } from './ParallelScan.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';

// The worker half of ParallelScan: takes shards from the shared counter until none are left,
// sending the records of each (their files' text) before it takes the next; at the end, the order
// of all it sent in the default order.
const { dir, shards, counter, port } = workerData as { dir: string; shards: string[]; counter: SharedArrayBuffer; port: MessagePort };
const next = new Int32Array(counter);
const texts: string[] = [];
// Only the sort keys of what was sent stay here, not the records: the main thread holds those, and
// what this thread's heap grew to stayed resident after it ended (measured at 100,000 images: 50-85 MB
// at the daemon's ready, given back only by a memory-reducing collection ~15 s later).
const sent: Pick<ImageRecord, 'id' | typeof DEFAULT_ORDER.sort>[] = [];
const send = (m: ScanMessage, transfer: TransferListItem[] = []) => port.postMessage(m, transfer);
const { problems } = scanShardQueue(
  dir,
  new ImageSchema(),
  shards,
  () => {
    if (texts.length > 0) send({ records: `[${texts.join(',')}]` });
    texts.length = 0;
    return Atomics.add(next, 0, 1);
  },
  (record, text) => {
    texts.push(text);
    sent.push({ id: record.id, [DEFAULT_ORDER.sort]: record[DEFAULT_ORDER.sort] });
  },
);
const newestFirst = sortedPositions(sent, DEFAULT_ORDER.sort, DEFAULT_ORDER.dir);
send({ done: true, problems, newestFirst }, [newestFirst.buffer]);
port.close();

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
// whatever this thread's heap grows to stays resident after it ends (V8 keeps the pages of an
// isolate torn down until a later memory-reducing collection of the main one).
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

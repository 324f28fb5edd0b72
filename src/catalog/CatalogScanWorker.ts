import { workerData, type MessagePort } from 'node:worker_threads';
import { ImageSchema } from './ImageSchema.ts';
import { scanShardQueue } from './CatalogScanner.ts';
import type { ScanMessage } from './ParallelScan.ts';

// The worker half of scanCatalogParallel: takes shards from the shared counter until none are left,
// sending the records of each (their files' text) before it takes the next.
const { dir, shards, counter, port } = workerData as { dir: string; shards: string[]; counter: SharedArrayBuffer; port: MessagePort };
const next = new Int32Array(counter);
const texts: string[] = [];
const send = (m: ScanMessage) => port.postMessage(m);
const { problems } = scanShardQueue(
  dir,
  new ImageSchema(),
  shards,
  () => {
    if (texts.length > 0) send({ records: `[${texts.join(',')}]` });
    texts.length = 0;
    return Atomics.add(next, 0, 1);
  },
  texts,
);
send({ done: true, problems });
port.close();

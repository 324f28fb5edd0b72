import { parentPort, workerData } from 'node:worker_threads';
import { ImageSchema } from './ImageSchema.ts';
import { scanShards } from './CatalogScanner.ts';

// The worker half of scanCatalogParallel: reads and checks the shards it is given.
const { dir, shards } = workerData as { dir: string; shards: string[] };
parentPort!.postMessage(scanShards(dir, new ImageSchema(), shards));

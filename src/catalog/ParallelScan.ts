import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageSchema } from './ImageSchema.ts';
import type { ImageRecord } from './ImageRecord.ts';
import { listShards, scanShardQueue, scanShards, type FileProblem, type ScanResult } from './CatalogScanner.ts';

/** Below this many shards a second thread costs more than it saves. */
const MIN_SHARDS_FOR_WORKER = 64;

/** What the worker sends: the records of the shards it read since its last message, or its end. */
export type ScanMessage = { records: string } | { done: true; problems: FileProblem[] };

/**
 * A full scan (a first start, with no index snapshot) on two threads. A worker and this thread take
 * the next shard from one shared counter, so the worker may start first (while this thread still
 * loads modules and opens the rest) and both finish together. The worker sends each shard's records
 * as the files' own text in one JSON array, which this thread parses between its own shards:
 * parsing is several times cheaper than receiving objects, and done along the way it does not wait
 * for the end. 100,000 files, first start: 2.4 s with a fixed share for a worker started with this
 * thread's scan and everything sent at the end; 2.1 s now.
 */
export class ParallelScan {
  private readonly shards: string[];
  private readonly next: Int32Array;
  private readonly port: MessagePort | undefined;
  private readonly worker: Worker | undefined;
  private readonly theirs: ImageRecord[] = [];
  private theirProblems: FileProblem[] | undefined;
  readonly dir: string;

  /** Starts the worker at once, when the catalogue is large enough to be worth one. */
  constructor(dir: string) {
    this.dir = dir;
    this.shards = listShards(dir);
    const counter = new SharedArrayBuffer(4);
    this.next = new Int32Array(counter);
    if (this.shards.length < MIN_SHARDS_FOR_WORKER) return;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    // The worker module sits beside this one, as .ts in the sources and .js once built.
    const self = fileURLToPath(import.meta.url);
    this.worker = new Worker(new URL(`./CatalogScanWorker${extname(self)}`, import.meta.url), {
      workerData: { dir, shards: this.shards, counter, port: port2 },
      transferList: [port2],
    });
    // Failures surface in finish(); until then an unhandled 'error' event must not end the process.
    this.worker.on('error', () => undefined);
  }

  /** This thread joins the scan; resolves once every shard is read, by one thread or the other. */
  async finish(schema: ImageSchema): Promise<ScanResult> {
    const { worker, port, shards } = this;
    if (!worker || !port) return scanShards(this.dir, schema, shards);
    const taken = new Set<number>();
    const mine = scanShardQueue(this.dir, schema, shards, () => {
      this.drain();
      const i = Atomics.add(this.next, 0, 1);
      taken.add(i);
      return i;
    });
    let other: ScanResult;
    try {
      await this.workerEnd();
      other = { records: this.theirs, problems: this.theirProblems! };
    } catch {
      // A worker that cannot run (a restricted runtime) only costs time: what it took is read again.
      other = scanShards(this.dir, schema, shards.filter((_, i) => !taken.has(i)));
    } finally {
      this.cancel();
    }
    return { records: [...mine.records, ...other.records], problems: [...mine.problems, ...other.problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)) };
  }

  /** Stops the worker (a snapshot made the scan unnecessary, or it is over). */
  cancel(): void {
    this.port?.close();
    void this.worker?.terminate();
  }

  private receive(m: ScanMessage): void {
    if ('done' in m) this.theirProblems = m.problems;
    else for (const r of JSON.parse(m.records) as ImageRecord[]) this.theirs.push(r);
  }

  private drain(): void {
    for (let m = receiveMessageOnPort(this.port!); m; m = receiveMessageOnPort(this.port!)) this.receive(m.message as ScanMessage);
  }

  /** Resolves once the worker has sent its last message, rejects if it fails first. */
  private workerEnd(): Promise<void> {
    const ended = () => this.theirProblems !== undefined;
    return new Promise((resolve, reject) => {
      this.drain();
      if (ended()) return resolve();
      this.port!.on('message', (m: ScanMessage) => {
        this.receive(m);
        if (ended()) resolve();
      });
      this.worker!.once('error', reject);
      this.worker!.once('exit', (code) => {
        this.drain();
        if (ended()) resolve();
        else reject(new Error(`catalogue scan worker exited (${code})`));
      });
    });
  }
}

/** A full scan on two threads, started now. */
export function scanCatalogParallel(dir: string, schema: ImageSchema): Promise<ScanResult> {
  return new ParallelScan(dir).finish(schema);
}

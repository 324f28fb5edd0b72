import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { setImmediate } from 'node:timers/promises';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageSchema } from './ImageSchema.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { listShards, scanShardQueue, scanShards, type FileProblem, type ScanResult } from './CatalogScanner.ts';
import { mergeSorted, recordOrder, sortedPositions } from './CatalogIndex.ts';
import { DEFAULT_ORDER } from './ImageQuery.ts';
import { holdYoungGeneration } from '../heap/YoungGenerationHold.ts';
import { shareRepeatedStrings } from './SharedStrings.ts';

/** Below this many shards a second thread costs more than it saves. */
const MIN_SHARDS_FOR_WORKER = 64;
/** How long this thread scans before it lets the event loop through. */
const SLICE_MS = 20;

/**
 * What the worker sends: the files of the shard it read since its last message (their bytes one
 * after another, and where each ends), or its end with the positions of everything it sent in the
 * default order.
 */
export type ScanMessage = { bytes: ArrayBuffer; ends: Int32Array } | { done: true; problems: FileProblem[]; newestFirst: Int32Array };
// This thread answers each { bytes } message by handing the bytes' ArrayBuffer back, parsed, for reuse.

/**
 * A full scan (a first start, with no index snapshot) on two threads. A worker and this thread take
 * the next shard from one shared counter, so the worker may start first (while this thread still
 * loads modules and opens the rest) and both finish together. The worker sends each shard's records
 * as the files' own bytes, handed over without a copy, which this thread parses between its own
 * shards: parsing is several times cheaper than receiving objects, and done along the way it does
 * not wait for the end. Each thread then sorts its own records in the default order, and this one merges
 * them: the index starts with its first order built, in half the time one thread takes to sort all.
 */
export class ParallelScan {
  private readonly shards: string[];
  private readonly next: Int32Array;
  private readonly port: MessagePort | undefined;
  private readonly worker: Worker | undefined;
  private readonly theirs: ImageRecord[] = [];
  private theirProblems: FileProblem[] | undefined;
  private theirOrder: Int32Array | undefined;
  readonly dir: string;
  /** From the start of the scan to its end: see holdYoungGeneration. */
  private readonly releaseYoungGeneration: () => void;
  /** This thread's part, once begun (join). */
  private joined: Promise<ScanResult> | undefined;
  private cancelled = false;

  /** Starts the worker at once, when the catalogue is large enough to be worth one. */
  constructor(dir: string) {
    this.dir = dir;
    this.releaseYoungGeneration = holdYoungGeneration();
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

  /** Shards handed out so far, to either thread. */
  get handedOut(): number {
    return Atomics.load(this.next, 0);
  }

  /** Records this thread has received from the worker so far: what the worker itself read. */
  get fromWorker(): number {
    return this.theirs.length;
  }

  /**
   * This thread joins the scan, at once, in slices between its other work; resolves once every
   * shard is read, by one thread or the other. Joining again answers the same scan.
   */
  join(schema: ImageSchema): Promise<ScanResult> {
    this.joined ??= this.scan(schema).finally(this.releaseYoungGeneration);
    return this.joined;
  }

  private async scan(schema: ImageSchema): Promise<ScanResult> {
    const { worker, port, shards } = this;
    if (!worker || !port) return scanShards(this.dir, schema, shards);
    const taken = new Set<number>();
    const mine: ScanResult = { records: [], problems: [] };
    let sliceEnd = 0;
    const take = () => {
      // Past the slice's end, hand out nothing: scanShardQueue returns, and the next slice goes on.
      if (this.cancelled || performance.now() > sliceEnd) return shards.length;
      this.drain();
      const i = Atomics.add(this.next, 0, 1);
      taken.add(i);
      return i;
    };
    // In slices, with the event loop let through between them: the other openers' steps (git
    // commands, the private catalogue's creation with its fsyncs) then run during the scan, not after.
    for (;;) {
      sliceEnd = performance.now() + SLICE_MS;
      const part = scanShardQueue(this.dir, schema, shards, take);
      for (const r of part.records) mine.records.push(r);
      for (const p of part.problems) mine.problems.push(p);
      if (this.handedOut >= shards.length) break;
      await setImmediate();
      if (this.cancelled) throw new Error('catalogue scan cancelled');
    }
    const mineSorted = pick(mine.records, sortedPositions(mine.records, DEFAULT_ORDER.sort, DEFAULT_ORDER.dir));
    try {
      await this.workerEnd();
    } catch (error) {
      if (this.cancelled) throw error;
      // A worker that cannot run (a restricted runtime) only costs time: what it took is read again.
      const rest = scanShards(this.dir, schema, shards.filter((_, i) => !taken.has(i)));
      return { records: [...mine.records, ...rest.records], problems: sortProblems([...mine.problems, ...rest.problems]) };
    } finally {
      this.cancel();
    }
    const theirsSorted = pick(this.theirs, this.theirOrder!);
    return {
      records: [...mine.records, ...this.theirs],
      problems: sortProblems([...mine.problems, ...this.theirProblems!]),
      newestFirst: mergeSorted(mineSorted, theirsSorted, recordOrder(DEFAULT_ORDER.sort, DEFAULT_ORDER.dir)),
    };
  }

  /** Stops the scan, this thread's part and the worker (a snapshot made it unnecessary, or it is over). */
  cancel(): void {
    this.cancelled = true;
    this.releaseYoungGeneration();
    this.port?.close();
    void this.worker?.terminate();
  }

  private receive(m: ScanMessage): void {
    if ('done' in m) {
      this.theirProblems = m.problems;
      this.theirOrder = m.newestFirst;
    } else {
      const bytes = Buffer.from(m.bytes);
      let start = 0;
      for (const end of m.ends) {
        this.theirs.push(shareRepeatedStrings(JSON.parse(bytes.toString('utf8', start, end)) as ImageRecord));
        start = end;
      }
      // Back to the worker, which fills it again rather than fault in a new one.
      this.port!.postMessage(m.bytes, [m.bytes]);
    }
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

function pick(records: readonly ImageRecord[], positions: Int32Array): ImageRecord[] {
  return Array.from(positions, (i) => records[i]!);
}

function sortProblems(problems: FileProblem[]): FileProblem[] {
  return problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

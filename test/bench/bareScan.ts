/**
 * The first start's same-run floor: what reading and parsing every record file of a catalogue costs
 * on two threads, with nothing else (no schema, no index, no git, no modules of the daemon). A first
 * start must do at least this, so its time is read beside this one's, measured the same way (spawn of
 * a fresh node to done) on the same catalogue in the same run.
 *
 *   node test/bench/bareScan.ts CATALOG_DIR     prints {"ms": …, "records": …, "bytes": …, "cpu_ms": …}
 *
 * ms counts from the process's own start (performance.timeOrigin), so Node's start is in it too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

interface Share {
  root: string;
  shards: string[];
  counter: SharedArrayBuffer;
}

/** Takes shards from the shared counter until none are left; returns [records, bytes]. */
function scan({ root, shards, counter }: Share): [number, number] {
  const next = new Int32Array(counter);
  let records = 0;
  let bytes = 0;
  for (let i = Atomics.add(next, 0, 1); i < shards.length; i = Atomics.add(next, 0, 1)) {
    const shard = shards[i]!;
    for (const name of readdirSync(`${root}/${shard}`)) {
      const text = readFileSync(`${root}/${shard}/${name}`, 'utf8');
      JSON.parse(text);
      records++;
      bytes += text.length;
    }
  }
  return [records, bytes];
}

if (isMainThread) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: bareScan.ts CATALOG_DIR\n');
    process.exit(2);
  }
  const root = `${dir}/images`;
  const share: Share = { root, shards: readdirSync(root).filter((s) => s !== '.gitkeep'), counter: new SharedArrayBuffer(4) };
  const worker = new Worker(new URL(import.meta.url), { workerData: share });
  const theirs = new Promise<[number, number]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const mine = scan(share);
  const [records, bytes] = await theirs.then(([r, b]) => [r + mine[0], b + mine[1]]);
  const cpu = process.cpuUsage();
  const ms = Math.round(performance.now());
  process.stdout.write(`${JSON.stringify({ ms, records, bytes, cpu_ms: Math.round((cpu.user + cpu.system) / 1000) })}\n`);
} else {
  parentPort!.postMessage(scan(workerData as Share));
}

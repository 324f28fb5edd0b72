/**
 * The first start's same-run floors: what reading and parsing every record file of a catalogue costs
 * on two threads, with nothing else (no schema, no index, no git, no modules of the daemon). A first
 * start must do at least this, so its time is read beside this one's, measured the same way (spawn of
 * a fresh node to done) on the same catalogue in the same run.
 *
 *   node test/bench/bareScan.ts CATALOG_DIR             prints {"ms": …, "records": …, "bytes": …, "cpu_ms": …}
 *   node test/bench/bareScan.ts --keep CATALOG_DIR…     the same, every record of every catalogue kept
 *
 * With --keep, this thread ends holding every record as an object, as a daemon does at ready: the
 * worker's records reach it the daemon's way (each shard's file bytes moved without a copy, parsed
 * again here) and stay in its heap. That is the floor of any start that holds its records as objects
 * in one heap, read from their files.
 *
 * ms counts from the process's own start (performance.timeOrigin), so Node's start is in it too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { isMainThread, MessageChannel, parentPort, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';

interface Share {
  /** Shard folders, from every catalogue. */
  folders: string[];
  counter: SharedArrayBuffer;
  /** --keep: where the worker sends each shard's bytes. */
  port?: MessagePort;
}

interface ShardBytes {
  bytes: ArrayBuffer;
  ends: number[];
}

/** Takes shards from the shared counter until none are left; returns [records, bytes]. */
function scan({ folders, counter }: Share, each: (text: string) => void, shardDone: () => void = () => undefined): [number, number] {
  const next = new Int32Array(counter);
  let records = 0;
  let bytes = 0;
  for (let i = Atomics.add(next, 0, 1); i < folders.length; i = Atomics.add(next, 0, 1)) {
    const folder = folders[i]!;
    for (const name of readdirSync(folder)) {
      const text = readFileSync(`${folder}/${name}`, 'utf8');
      each(text);
      records++;
      bytes += text.length;
    }
    shardDone();
  }
  return [records, bytes];
}

/** The worker's half with --keep: each shard's texts, parsed here too (a start checks them), then sent. */
function scanAndSend(share: Share): [number, number] {
  let texts: string[] = [];
  return scan(
    share,
    (text) => {
      JSON.parse(text);
      texts.push(text);
    },
    () => {
      // Its own ArrayBuffer (a small Buffer.from shares Node's pool, which cannot be moved).
      const { buffer } = new TextEncoder().encode(texts.join(''));
      let end = 0;
      const ends = texts.map((t) => (end += Buffer.byteLength(t)));
      share.port!.postMessage({ bytes: buffer, ends } satisfies ShardBytes, [buffer]);
      texts = [];
    },
  );
}

if (isMainThread) {
  const keep = process.argv[2] === '--keep';
  const dirs = process.argv.slice(keep ? 3 : 2);
  if (dirs.length === 0 || (!keep && dirs.length > 1)) {
    process.stderr.write('usage: bareScan.ts CATALOG_DIR | bareScan.ts --keep CATALOG_DIR...\n');
    process.exit(2);
  }
  const folders = dirs.flatMap((dir) =>
    readdirSync(`${dir}/images`)
      .filter((s) => s !== '.gitkeep')
      .map((s) => `${dir}/images/${s}`),
  );
  const kept: unknown[] = [];
  const channel = keep ? new MessageChannel() : undefined;
  const share: Share = { folders, counter: new SharedArrayBuffer(4) };
  const worker = new Worker(new URL(import.meta.url), {
    workerData: { ...share, port: channel?.port2 },
    transferList: channel ? [channel.port2] : [],
  });
  const theirs = new Promise<[number, number]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const receive = () => {
    for (let m = channel && receiveMessageOnPort(channel.port1); m; m = receiveMessageOnPort(channel!.port1)) {
      const { bytes, ends } = m.message as ShardBytes;
      const buffer = Buffer.from(bytes);
      let start = 0;
      for (const end of ends) {
        kept.push(JSON.parse(buffer.toString('utf8', start, end)));
        start = end;
      }
    }
  };
  const mine = keep ? scan(share, (text) => kept.push(JSON.parse(text)), receive) : scan(share, (text) => JSON.parse(text));
  const [records, bytes] = await theirs.then(([r, b]) => [r + mine[0], b + mine[1]]);
  receive();
  channel?.port1.close();
  if (keep && kept.length !== records) throw new Error(`kept ${kept.length} of ${records} records`);
  const cpu = process.cpuUsage();
  const ms = Math.round(performance.now());
  process.stdout.write(`${JSON.stringify({ ms, records, bytes, cpu_ms: Math.round((cpu.user + cpu.system) / 1000) })}\n`);
} else {
  const share = workerData as Share;
  parentPort!.postMessage(share.port ? scanAndSend(share) : scan(share, (text) => JSON.parse(text)));
}

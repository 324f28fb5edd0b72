/**
 * What format inspection costs the upload pass (issue 14): the same file through hashedCopy (the
 * copy under every upload) into a null sink, with the inspection observing every chunk and without,
 * alternated, beside `openssl dgst -sha256` on the file. Prints MB/s per round, the medians, and the
 * inspection's overhead; then, free of I/O noise, the CPU time of 2 GiB of 64 KiB chunks through
 * sha256 and through the inspection alone.
 *
 *   node test/bench/inspectionCost.ts [FILE] [ROUNDS]
 *
 * Without FILE it builds a 2 GiB qcow2 of random data with qemu-img in a temporary directory (removed
 * at the end). The file is read once first so every round reads it from the page cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { hashedCopy } from '../../src/image-files/HashedCopy.ts';
import { FormatInspection } from '../../src/inspection/FormatInspection.ts';
import { verdictOn } from '../../src/inspection/InspectionVerdict.ts';
import { qemuImg } from '../helpers/diskImages.ts';

const rounds = Number(process.argv[3] ?? 3);
let scratch: string | undefined;
let file = process.argv[2];
if (!file) {
  scratch = mkdtempSync(join(tmpdir(), 'visor-inspection-bench-'));
  const raw = join(scratch, 'random.raw');
  execFileSync('sh', ['-c', `openssl enc -aes-128-ctr -pass pass:visor -nosalt -pbkdf2 -in /dev/zero 2>/dev/null | head -c ${2 ** 31} > ${raw}`]);
  file = join(scratch, 'image.qcow2');
  execFileSync(qemuImg(), ['convert', '-q', '-O', 'qcow2', raw, file]);
  rmSync(raw);
}
const size = statSync(file).size;
const mbps = (ms: number) => size / 1e6 / (ms / 1000);

async function copy(inspect: boolean): Promise<number> {
  const inspection = inspect ? new FormatInspection() : undefined;
  const started = performance.now();
  await hashedCopy(createReadStream(file!, { highWaterMark: 1 << 16 }), new Writable({ write: (_c, _e, cb) => cb() }), 'sha256', Number.MAX_SAFE_INTEGER, inspection ? { observe: (c) => inspection.push(c) } : {});
  if (inspection) verdictOn(inspection.finish(), 'qcow2', { maxVirtualSize: 2 ** 46 });
  return performance.now() - started;
}

function openssl(): number {
  const started = performance.now();
  execFileSync('openssl', ['dgst', '-sha256', file!], { stdio: 'ignore' });
  return performance.now() - started;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'ignore'] });
  const off: number[] = [];
  const on: number[] = [];
  const ssl: number[] = [];
  for (let i = 0; i < rounds; i++) {
    off.push(mbps(await copy(false)));
    on.push(mbps(await copy(true)));
    ssl.push(mbps(openssl()));
    console.log(`round ${i + 1}: hash only ${off.at(-1)!.toFixed(0)} MB/s, hash + inspection ${on.at(-1)!.toFixed(0)} MB/s, openssl dgst -sha256 ${ssl.at(-1)!.toFixed(0)} MB/s`);
  }
  const [a, b, c] = [median(off), median(on), median(ssl)];
  console.log(`file ${size} bytes; medians: hash only ${a.toFixed(0)} MB/s, hash + inspection ${b.toFixed(0)} MB/s (${(((a - b) / a) * 100).toFixed(1)}% slower), openssl ${c.toFixed(0)} MB/s`);
  const chunk = randomBytes(1 << 16);
  const cpu: number[] = [];
  for (let i = 0; i < rounds; i++) {
    let t = performance.now();
    const h = createHash('sha256');
    for (let k = 0; k < 32768; k++) h.update(chunk);
    h.digest();
    const hash = performance.now() - t;
    t = performance.now();
    const inspection = new FormatInspection();
    for (let k = 0; k < 32768; k++) inspection.push(chunk);
    inspection.finish();
    cpu.push(((performance.now() - t) / hash) * 100);
    console.log(`CPU for 2 GiB in 64 KiB chunks: sha256 ${hash.toFixed(0)} ms, inspection ${(performance.now() - t).toFixed(1)} ms`);
  }
  console.log(`inspection CPU: median ${median(cpu).toFixed(2)}% of the hash's`);
} finally {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}

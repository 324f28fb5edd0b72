/**
 * What malware scanning costs (issue 14): clamd's own scan throughput on one file (streamed with
 * zINSTREAM, as VISOR does), and the upload throughput of the same file into a daemon with
 * scanning blocking (the file goes to clamd in the upload's one pass) against one with scanning
 * off, alternated round by round in the same run.
 *
 *   node test/bench/scanCost.ts [--mib 256] [--rounds 3]
 *
 * Starts a clamd of its own (test/scanning/ensure-clamd.sh in a directory of its own, limits raised
 * to 1 GiB) and stops it by its PID at the end. Its database is the tests' EICAR signature alone:
 * with the official databases (millions of signatures) clamd is slower, so the figure is clamd's
 * floor of work per byte (reading, file typing, the matchers), not a production figure.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClamdClient, parseClamdAddress } from '../../src/scanning/ClamdClient.ts';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { createImage } from '../helpers/images.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '256' }, rounds: { type: 'string', default: '3' } } });
const mib = Number(values.mib);
const rounds = Number(values.rounds);
const scratch = mkdtempSync(join(tmpdir(), 'visor-scan-bench-'));
const clamdDir = join(scratch, 'clamd');
const env = { ...process.env, VISOR_TEST_CLAMD_DIR: clamdDir, VISOR_TEST_CLAMD_MAX_STREAM: '1024M', VISOR_TEST_CLAMD_MAX_FILE: '1024M' };
const script = (name: string) => fileURLToPath(new URL(`../scanning/${name}`, import.meta.url));
const file = join(scratch, 'image.raw');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const daemons: TestDaemon[] = [];

function upload(d: TestDaemon, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(`${d.url}/images/${id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/octet-stream', 'content-length': statSync(file).size } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`upload answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(file, { highWaterMark: 1 << 16 }).pipe(req);
  });
}

try {
  // Random bytes (nothing for clamd to unpack): what a disk image's unused blocks look like after use.
  execFileSync('sh', ['-c', `openssl enc -aes-128-ctr -pass pass:visor -nosalt -pbkdf2 -in /dev/zero 2>/dev/null | head -c ${mib * 2 ** 20} > ${file}`]);
  execFileSync('cat', [file], { stdio: 'ignore' });
  const t0 = performance.now();
  const state = execFileSync('bash', [script('ensure-clamd.sh')], { env, encoding: 'utf8' }).trim();
  console.log(`clamd ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const socket = /CLAMD_SOCKET=(.*)/.exec(readFileSync(state, 'utf8'))![1]!;
  const clamd = new ClamdClient(parseClamdAddress(socket)!);
  const size = statSync(file).size;
  const mbps = (ms: number) => size / 1e6 / (ms / 1000);
  console.log(`engine: ${(await clamd.version()).engine}; file ${size} bytes`);

  const config = (mode: string) => ({ scanning: { mode, socket, max_stream_bytes: 1024 * 2 ** 20 } });
  const [off, blocking] = await Promise.all([startTestDaemon({ config: config('off') }), startTestDaemon({ config: config('blocking') })]);
  daemons.push(off, blocking);
  const scan: number[] = [];
  const up = { off: [] as number[], blocking: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const s = clamd.instream();
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 16 })) await s.write(chunk as Buffer);
    const outcome = await s.finish();
    if (outcome.kind !== 'clean') throw new Error(`clamd said ${JSON.stringify(outcome)}`);
    scan.push(mbps(performance.now() - started));
    for (const mode of ['off', 'blocking'] as const) {
      const d = mode === 'off' ? off : blocking;
      const id = await createImage(d, d.token, { name: `bench-${i}`, disk: 'raw' });
      up[mode].push(mbps(await upload(d, id)));
    }
    console.log(`round ${i + 1}: clamd INSTREAM ${scan.at(-1)!.toFixed(0)} MB/s; upload scanning off ${up.off.at(-1)!.toFixed(0)} MB/s, blocking ${up.blocking.at(-1)!.toFixed(0)} MB/s`);
  }
  const [a, b] = [median(up.off), median(up.blocking)];
  console.log(`medians of ${rounds} (${mib} MiB): clamd INSTREAM ${median(scan).toFixed(0)} MB/s; upload off ${a.toFixed(0)} MB/s, blocking ${b.toFixed(0)} MB/s (${(b / a).toFixed(2)}x)`);
} finally {
  for (const d of daemons) await d.stop().catch(() => undefined);
  execFileSync('bash', [script('stop-clamd.sh')], { env });
  rmSync(scratch, { recursive: true, force: true });
}

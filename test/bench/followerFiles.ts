/**
 * Followers serve the bytes too: the first download of an image through a follower (a cache miss:
 * fetched from the upstream daemon's file route, verified while streaming to the client and into
 * the follower's store) and a second one (a hit: the kept copy), beside a direct download from the
 * upstream, in one run on this machine. Two daemons in processes of their own (`visor serve`), the
 * upstream holding uploaded images of random bytes, the follower syncing its catalogue through the
 * Git endpoint with `files = "on_demand"`; the client reads each download to its end and discards it.
 *
 *   node test/bench/followerFiles.ts [--mib 256] [--rounds 3]
 *
 * Each round has an image of its own (so each has a real miss); order per round: direct, miss, hit.
 * Prints each download's MiB/s, the medians and the ratios to the direct download, and one JSON line.
 * Both daemons listen on 127.0.0.1 on free ports, are stopped by PID at the end (killed if they do not
 * stop within 30 s), and everything temporary lives in one directory under the system's temp folder,
 * removed at the end. Defaults: fsync on, as shipped (the miss makes its copy durable).
 */
import { mkdtemp, readFile, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemonProcess.ts';
import { exchange, median, option } from './benchExchange.ts';

const MiB = 1 << 20;

const say = (message: string): void => void process.stderr.write(`[followerFiles] ${message}\n`);

async function start(dir: string, name: string, extra: string): Promise<{ daemon: DaemonProcess; url: string; token: string }> {
  const data = join(dir, name);
  const config = join(dir, `${name}.toml`);
  await writeFile(config, `data_dir = ${JSON.stringify(data)}\n[server]\nhost = "127.0.0.1"\nport = 0\n[log]\nlevel = "warn"\n[auth]\nkey_hash_cost = 10\n${extra}`);
  const daemon = spawnDaemon(config);
  const url = await daemon.serving(60_000);
  const token = (await readFile(join(data, 'admin-token'), 'utf8')).trim();
  return { daemon, url, token };
}

async function stop(d: { daemon: DaemonProcess } | undefined): Promise<void> {
  if (!d) return;
  d.daemon.child.kill('SIGTERM');
  await d.daemon.exitWithin(30_000).catch((e: Error) => say(e.message));
}

/** Seconds of one download read to its end, checking it is whole. */
async function timed(url: string, size: number): Promise<number> {
  const t = performance.now();
  const res = await exchange(url, { count: true });
  const s = (performance.now() - t) / 1000;
  if (res.status !== 200 || res.bytes !== size) throw new Error(`${url}: ${res.status}, ${res.bytes} of ${size} bytes`);
  return s;
}


async function main(): Promise<void> {
  const mib = option('mib', 256);
  const rounds = option('rounds', 3);
  const size = mib * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'visor-follower-bench-'));
  let upstream: Awaited<ReturnType<typeof start>> | undefined;
  let follower: Awaited<ReturnType<typeof start>> | undefined;
  try {
    upstream = await start(dir, 'upstream', '');
    const file = join(dir, 'image.raw');
    const handle = await open(file, 'w');
    for (let written = 0; written < size; written += 16 * MiB) await handle.write(randomBytes(Math.min(16 * MiB, size - written)));
    await handle.close();
    const ids: string[] = [];
    for (let r = 0; r < rounds; r++) {
      // The same bytes under each image: every round's miss is still a miss (the copy is per image).
      const created = await exchange(`${upstream.url}/images`, { method: 'POST', headers: { authorization: `Bearer ${upstream.token}` }, json: { name: `bench-${r}`, access: 'public' } });
      const id = (JSON.parse(created.text) as { id: string }).id;
      const uploaded = await exchange(`${upstream.url}/images/${id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${upstream.token}` }, file });
      if (uploaded.status !== 200) throw new Error(`upload: ${uploaded.status} ${uploaded.text}`);
      ids.push(id);
    }
    await rm(file);
    follower = await start(dir, 'follower', `[upstreams.up]\nurl = "${upstream.url}/catalog.git"\ninterval_seconds = 0\nfiles = "on_demand"\nfiles_url = "${upstream.url}"\n`);
    const synced = await exchange(`${follower.url}/sync`, { method: 'POST', headers: { authorization: `Bearer ${follower.token}` } });
    if (synced.status !== 200) throw new Error(`sync: ${synced.status} ${synced.text}`);
    const speed = { direct: [] as number[], miss: [] as number[], hit: [] as number[] };
    for (const [r, id] of ids.entries()) {
      const direct = await timed(`${upstream.url}/images/${id}/file`, size);
      const miss = await timed(`${follower.url}/images/${id}/file`, size);
      const hit = await timed(`${follower.url}/images/${id}/file`, size);
      speed.direct.push(mib / direct);
      speed.miss.push(mib / miss);
      speed.hit.push(mib / hit);
      say(`round ${r + 1}: direct ${(mib / direct).toFixed(0)} MiB/s, miss ${(mib / miss).toFixed(0)} MiB/s, hit ${(mib / hit).toFixed(0)} MiB/s`);
    }
    const m = { direct: median(speed.direct), miss: median(speed.miss), hit: median(speed.hit) };
    process.stdout.write(
      `follower files, ${mib} MiB image, ${rounds} round(s), medians:\n` +
        `  direct from the upstream  ${m.direct.toFixed(0)} MiB/s\n` +
        `  follower, first (miss)    ${m.miss.toFixed(0)} MiB/s  = ${(m.miss / m.direct).toFixed(2)}x direct\n` +
        `  follower, second (hit)    ${m.hit.toFixed(0)} MiB/s  = ${(m.hit / m.direct).toFixed(2)}x direct\n`,
    );
    process.stdout.write(`${JSON.stringify({ mib, rounds, mib_per_s: speed, median: m, ratio: { miss: m.miss / m.direct, hit: m.hit / m.direct } })}\n`);
  } finally {
    await stop(follower);
    await stop(upstream);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

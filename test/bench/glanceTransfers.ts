/**
 * The Glance v2 edge's cost on image data: the same file uploaded and downloaded through `/v2`
 * (PUT /v2/images/<id>/file, which also computes Glance's md5 and sha512 in the upload's pass) and
 * through VISOR's own route (PUT /images/<id>/file), in one run on one daemon, alternating which goes
 * first in each round. Issue 16's target: the second edge costs at most 10%.
 *
 *   node test/bench/glanceTransfers.ts [--mib 2048] [--rounds 3]
 *
 * One daemon in a process of its own (`visor serve`, fsync on as shipped), on 127.0.0.1 and a free
 * port, stopped by PID at the end; everything temporary in one folder under the system's temp
 * folder, removed at the end. Prints each transfer's MiB/s, the medians, the ratios, and one JSON line.
 */
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnDaemon } from '../helpers/daemonProcess.ts';
import { exchange, median, option } from './benchExchange.ts';

const MiB = 1 << 20;

const say = (message: string): void => void process.stderr.write(`[glanceTransfers] ${message}\n`);

async function main(): Promise<void> {
  const mib = option('mib', 2048);
  const rounds = option('rounds', 3);
  const size = mib * MiB;
  const dir = await mkdtemp(join(tmpdir(), 'visor-glance-bench-'));
  const config = join(dir, 'visor.toml');
  await writeFile(config, `data_dir = ${JSON.stringify(join(dir, 'data'))}\n[server]\nhost = "127.0.0.1"\nport = 0\n[log]\nlevel = "warn"\n[auth]\nkey_hash_cost = 10\n`);
  const daemon = spawnDaemon(config);
  try {
    const url = await daemon.serving(60_000);
    const token = (await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim();
    const file = join(dir, 'image.raw');
    const handle = await open(file, 'w');
    for (let written = 0; written < size; written += 16 * MiB) await handle.write(randomBytes(Math.min(16 * MiB, size - written)));
    await handle.close();

    const visor = {
      create: async () => JSON.parse((await exchange(`${url}/images`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, json: { name: `bench-${randomBytes(4).toString('hex')}`, access: 'public', disk: 'raw' } })).text).id as string,
      upload: (id: string) => exchange(`${url}/images/${id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, file }),
      download: (id: string) => `${url}/images/${id}/file`,
    };
    const glance = {
      create: async () => JSON.parse((await exchange(`${url}/v2/images`, { method: 'POST', headers: { 'x-auth-token': token }, json: { name: `bench-${randomBytes(4).toString('hex')}`, visibility: 'public', disk_format: 'raw', container_format: 'bare' } })).text).id as string,
      upload: (id: string) => exchange(`${url}/v2/images/${id}/file`, { method: 'PUT', headers: { 'x-auth-token': token }, file }),
      download: (id: string) => `${url}/v2/images/${id}/file`,
    };
    const speed = { visor_up: [] as number[], v2_up: [] as number[], visor_down: [] as number[], v2_down: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? (['visor', 'v2'] as const) : (['v2', 'visor'] as const);
      for (const edge of order) {
        const e = edge === 'visor' ? visor : glance;
        const id = await e.create();
        let t = performance.now();
        const up = await e.upload(id);
        if (up.status !== 200 && up.status !== 204) throw new Error(`${edge} upload: ${up.status} ${up.text.slice(0, 300)}`);
        speed[`${edge}_up`].push(mib / ((performance.now() - t) / 1000));
        t = performance.now();
        const down = await exchange(e.download(id), { headers: edge === 'visor' ? { authorization: `Bearer ${token}` } : { 'x-auth-token': token }, count: true });
        if (down.status !== 200 || down.bytes !== size) throw new Error(`${edge} download: ${down.status}, ${down.bytes} of ${size} bytes`);
        speed[`${edge}_down`].push(mib / ((performance.now() - t) / 1000));
        say(`round ${r + 1} ${edge}: up ${speed[`${edge}_up`].at(-1)!.toFixed(0)} MiB/s, down ${speed[`${edge}_down`].at(-1)!.toFixed(0)} MiB/s`);
      }
    }
    const m = { visor_up: median(speed.visor_up), v2_up: median(speed.v2_up), visor_down: median(speed.visor_down), v2_down: median(speed.v2_down) };
    const ratio = { up: m.v2_up / m.visor_up, down: m.v2_down / m.visor_down };
    process.stdout.write(
      `image data through /v2 against VISOR's own route, ${mib} MiB, ${rounds} round(s), medians:\n` +
        `  upload    VISOR ${m.visor_up.toFixed(0)} MiB/s, /v2 ${m.v2_up.toFixed(0)} MiB/s = ${ratio.up.toFixed(2)}x\n` +
        `  download  VISOR ${m.visor_down.toFixed(0)} MiB/s, /v2 ${m.v2_down.toFixed(0)} MiB/s = ${ratio.down.toFixed(2)}x\n`,
    );
    process.stdout.write(`${JSON.stringify({ mib, rounds, mib_per_s: speed, median: m, ratio })}\n`);
  } finally {
    daemon.child.kill('SIGTERM');
    await daemon.exitWithin(30_000).catch((e: Error) => say(e.message));
    await rm(dir, { recursive: true, force: true });
  }
}

await main();

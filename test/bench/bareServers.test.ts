/**
 * The benchmark's transfer ceilings do the work they stand for: the bare receiver answers an upload
 * only with the body's sha256 once the file is written (and leaves no file behind), the bare stream
 * sends the file whole with its length, at its default read size and at the one given.
 */
import test, { type ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

const here = import.meta.dirname;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts a bench helper script on a free port and resolves once it prints "listening". */
async function startHelper(script: string, args: (port: number) => string[]): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(here, script), ...args(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening')) resolve();
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}

test('the bare receiver answers 201 with the sha256 and size of the body it wrote, and removes the file afterwards', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bare-receiver-'));
  const { url, child } = await startHelper('bareReceiver.ts', (port) => [String(port), dir]);
  t.teardown(async () => {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
  });
  const body = randomBytes(3 * 1024 * 1024 + 17);
  const res = await fetch(`${url}/images/bare/file`, { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } });
  t.is(res.status, 201);
  t.deepEqual(await res.json(), { sha256: createHash('sha256').update(body).digest('hex'), bytes: body.length });
  // the file goes once the answer is sent
  for (let i = 0; i < 100 && (await readdir(dir)).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(await readdir(dir), []);
});

test('the bare receiver refuses anything but PUT', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bare-receiver-'));
  const { url, child } = await startHelper('bareReceiver.ts', (port) => [String(port), dir]);
  t.teardown(async () => {
    await stop(child);
    await rm(dir, { recursive: true, force: true });
  });
  t.is((await fetch(`${url}/x`)).status, 405);
});

for (const readBytes of [undefined, 1024 * 1024]) {
  test(`the bare stream sends the whole file with its length (${readBytes === undefined ? 'default reads' : `${readBytes}-byte reads`})`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'bare-stream-'));
    const file = join(dir, 'image.bin');
    const content = randomBytes(2 * 1024 * 1024 + 5);
    await writeFile(file, content);
    const { url, child } = await startHelper('bareStream.ts', (port) => [String(port), file, ...(readBytes === undefined ? [] : [String(readBytes)])]);
    t.teardown(async () => {
      await stop(child);
      await rm(dir, { recursive: true, force: true });
    });
    const res = await fetch(`${url}/image.bin`);
    t.is(res.status, 200);
    t.is(res.headers.get('content-length'), String(content.length));
    t.true(Buffer.from(await res.arrayBuffer()).equals(content));
  });
}

/** Writes `count` small records, one per shard folder from `first` on, into DIR/images; returns their bytes. */
async function writeRecords(dir: string, first: number, count: number): Promise<number> {
  let bytes = 0;
  for (let i = first; i < first + count; i++) {
    const shard = i.toString(16).padStart(2, '0');
    await mkdir(join(dir, 'images', shard), { recursive: true });
    const text = JSON.stringify({ id: `${shard}000000-0000-4000-8000-000000000000`, name: `image ${i}` });
    bytes += text.length;
    await writeFile(join(dir, 'images', shard, `${shard}000000-0000-4000-8000-000000000000.json`), text);
  }
  return bytes;
}

interface BareScanReport {
  ms: number;
  records: number;
  bytes: number;
  cpu_ms: number;
}

/** Runs bareScan.ts with ARGS; its report. */
async function bareScan(t: ExecutionContext, args: string[]): Promise<BareScanReport> {
  const child = spawn(process.execPath, [join(here, 'bareScan.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  // 'close', not 'exit': the process may end before its last output is read from the pipe.
  const [code] = (await once(child, 'close')) as [number];
  t.is(code, 0);
  return JSON.parse(out) as BareScanReport;
}

test('the bare scan (the first start\'s floor) reads and parses every record file of a catalogue, on two threads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bare-scan-'));
  try {
    // 70 shard folders, each read by whichever thread takes it first
    const bytes = await writeRecords(dir, 0, 70);
    const report = await bareScan(t, [dir]);
    t.is(report.records, 70);
    t.is(report.bytes, bytes);
    t.true(report.ms > 0 && report.cpu_ms > 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the floor with records kept reads every record of every catalogue given and ends holding them all', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'bare-keep-'));
  try {
    // Two catalogues, as a daemon loads: 150 shard folders in all.
    const bytes = (await writeRecords(join(root, 'catalog'), 0, 120)) + (await writeRecords(join(root, 'private-catalog'), 120, 30));
    // The script itself fails unless it holds as many records as both threads read.
    const report = await bareScan(t, ['--keep', join(root, 'catalog'), join(root, 'private-catalog')]);
    t.is(report.records, 150);
    t.is(report.bytes, bytes);
    t.true(report.ms > 0 && report.cpu_ms > 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

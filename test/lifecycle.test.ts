/**
 * The daemon's life as a process (issue 12): one daemon per data directory and catalogue, a start
 * that fails exits, and a stop is bounded and leaves nothing half-done. Real processes throughout:
 * `visor serve` spawned as operators run it, signals, kill -9, a port another program holds.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { commandLineOf, descendantsOf, spawnDaemon, type DaemonProcess } from './helpers/daemonProcess.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';

/**
 * A folder holding a configuration file and the data directory (<dir>/data): `server` settings go in
 * its [server] table, and `catalogue` (a path) becomes catalog.path.
 */
async function setUp(t: { teardown(fn: () => Promise<void>): void }, options: { server?: Record<string, number>; catalogue?: (dir: string) => string } = {}): Promise<{ dir: string; config: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'visor-lifecycle-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'visor.toml');
  const server = Object.entries({ port: 0, ...options.server }).map(([k, v]) => `${k} = ${v}`);
  const catalogue = options.catalogue ? ['[catalog]', `path = "${options.catalogue(dir)}"`] : [];
  await writeFile(config, [`data_dir = "${dir}/data"`, '[server]', ...server, ...catalogue, '[log]', 'level = "info"', '[auth]', 'key_hash_cost = 10', ''].join('\n'));
  return { dir, config };
}

/** Spawns a daemon that the test ends (SIGKILL) if it is still running at the end. */
function daemon(t: { teardown(fn: () => void): void }, config: string): DaemonProcess {
  const d = spawnDaemon(config);
  t.teardown(() => {
    if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
  });
  return d;
}

async function adminToken(dir: string): Promise<string> {
  return (await readFile(join(dir, 'data', 'admin-token'), 'utf8')).trim();
}

interface TrickleUpload {
  answer: Promise<{ status: number; body: string } | Error>;
  /** Stops sending (the request stays open). */
  stop(): void;
  /** Sends the rest of the body. */
  finish(): void;
}

/** An upload of a 1 MiB body, sent 1 KiB every 50 ms until told to stop or finish. */
function trickleUpload(url: string, token: string, id: string): TrickleUpload {
  const total = 2 ** 20;
  const req = request(`${url}/images/${id}/file`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(total) } });
  const answer = new Promise<{ status: number; body: string } | Error>((done) => {
    req.once('error', done);
    req.once('response', (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
      res.on('error', done);
    });
  });
  let sent = 0;
  const send = (bytes: number): void => {
    req.write(Buffer.alloc(bytes));
    sent += bytes;
  };
  send(4096);
  const timer = setInterval(() => send(1024), 50);
  return {
    answer,
    stop: () => clearInterval(timer),
    finish: () => {
      clearInterval(timer);
      req.end(Buffer.alloc(total - sent));
    },
  };
}

async function statusOf(url: string, token: string, id: string): Promise<string> {
  return ((await call({ url }, token, 'GET', `/images/${id}`)).json as { status: string }).status;
}

function catalogueLog(dir: string): string[] {
  return execFileSync('git', ['-C', join(dir, 'data', 'catalog'), 'log', '--format=%s'], { encoding: 'utf8' }).trim().split('\n');
}

test('a second daemon on the same data directory refuses to start, names the first, and leaves its upload in flight alone; after a kill -9 of the first, the next start takes the lock over', async (t) => {
  const { dir, config } = await setUp(t);
  const first = daemon(t, config);
  const url = await first.serving();
  const token = await adminToken(dir);
  const id = await createImage({ url }, token, { name: 'lifecycle-second', architecture: 'x86_64', access: 'public' });
  const upload = trickleUpload(url, token, id);
  t.teardown(() => upload.stop());
  t.is(await pollUntil(() => statusOf(url, token, id), (s) => s === 'uploading', { within: 5000 }), 'uploading');
  const headBefore = catalogueLog(dir);

  const second = daemon(t, config);
  const started = Date.now();
  const end = await second.exitWithin(20_000);
  t.log(`the second daemon exited ${String(end.code)} after ${end.at - started} ms`);
  t.is(end.code, 4, 'exit status 4: a conflict');
  t.true(end.at - started < 15_000, 'promptly');
  t.regex(second.stderr(), new RegExp(`data directory ${dir}/data is in use by VISOR daemon PID ${first.pid}, serving ${url.replaceAll('.', '\\.')}`));

  // The first daemon's upload goes on as if nothing happened, and completes.
  t.deepEqual(catalogueLog(dir), headBefore, 'the second daemon committed nothing');
  t.is(await statusOf(url, token, id), 'uploading');
  upload.finish();
  const answer = await upload.answer;
  t.is(answer instanceof Error ? answer.message : answer.status, 200, 'the upload completes');
  t.is(await statusOf(url, token, id), 'available');

  // A holder that dies leaves its lock to the next start, which says whose it was.
  first.child.kill('SIGKILL');
  await first.exited;
  const next = daemon(t, config);
  const nextUrl = await next.serving();
  t.regex(next.stdout(), new RegExp(`took over the lock of data directory ${dir}/data from VISOR daemon PID ${first.pid}, which stopped without releasing it`));
  t.is(await statusOf(nextUrl, token, id), 'available');
  next.child.kill('SIGTERM');
  t.is((await next.exitWithin(15_000)).code, 0);
});

test('two daemons in one process exclude each other too, and a stopped one frees its data directory', async (t) => {
  let running = await startTestDaemon();
  const { dataDir, url } = running;
  t.teardown(async () => {
    await running.stop();
    await rm(dataDir, { recursive: true, force: true });
  });
  const error = await t.throwsAsync(startTestDaemon({ dataDir }));
  t.regex(error?.message ?? '', new RegExp(`data directory ${dataDir} is in use by VISOR daemon PID ${process.pid}, serving ${url.replaceAll('.', '\\.')}`));
  running = await running.restart();
  t.is((await call(running, undefined, 'GET', '/health')).status, 200);
});

test('a catalogue outside the data directory is locked too: a daemon with its own data directory is refused it', async (t) => {
  // Both daemons name the same catalogue; the first creates it at its start.
  const { dir, config } = await setUp(t, { catalogue: (d) => join(d, 'shared-catalogue') });
  const catalogue = join(dir, 'shared-catalogue');
  const other = await setUp(t, { catalogue: () => catalogue });
  const first = daemon(t, config);
  const url = await first.serving();

  const second = daemon(t, other.config);
  const end = await second.exitWithin(20_000);
  t.is(end.code, 4);
  t.regex(second.stderr(), new RegExp(`catalogue ${catalogue} is in use by VISOR daemon PID ${first.pid}, serving ${url.replaceAll('.', '\\.')}`));
  first.child.kill('SIGTERM');
  t.is((await first.exitWithin(15_000)).code, 0);
});

// The two starts that fail run first, one at a time: how fast they exit is what they measure, and
// five daemons starting beside them on two loaded cores would measure Node's start instead.
test.serial('a daemon whose port is taken exits at once, naming the address, having opened nothing', async (t) => {
  const holder = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  t.teardown(() => void holder.close());
  const port = (holder.address() as { port: number }).port;
  const { dir, config } = await setUp(t, { server: { port } });

  const d = daemon(t, config);
  const started = Date.now();
  const end = await d.exitWithin(20_000);
  t.log(`exited ${String(end.code)} after ${end.at - started} ms`);
  t.is(end.code, 4);
  t.true(end.at - started < 10_000, 'within a few seconds');
  t.regex(d.stderr(), new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
  t.false(existsSync(join(dir, 'data', 'catalog')), 'no catalogue was opened');
});

test.serial('a start that fails on its catalogue exits with the reason, leaving nothing running', async (t) => {
  // A file where the catalogue's folder should be.
  const { dir, config } = await setUp(t, { catalogue: (d) => join(d, 'catalogue-file') });
  await writeFile(join(dir, 'catalogue-file'), 'not a catalogue');
  const d = daemon(t, config);
  const started = Date.now();
  const end = await d.exitWithin(20_000);
  t.log(`exited ${String(end.code)} after ${end.at - started} ms: ${d.stderr().trim()}`);
  t.not(end.code, 0);
  t.true(end.at - started < 15_000, 'promptly');
  t.regex(d.stderr(), new RegExp(`^visor: catalog\\.path: cannot open the catalogue at ${dir}/catalogue-file: ENOTDIR`, 'm'));
});

test('SIGTERM during a slow upload: the daemon exits within its grace, the upload is error after a restart, nothing is left in the store or running', async (t) => {
  const { dir, config } = await setUp(t, { server: { shutdown_grace_seconds: 1 } });
  const first = daemon(t, config);
  const url = await first.serving();
  const token = await adminToken(dir);
  const id = await createImage({ url }, token, { name: 'lifecycle-sigterm', architecture: 'x86_64', access: 'public' });
  const upload = trickleUpload(url, token, id);
  t.teardown(() => upload.stop());
  t.is(await pollUntil(() => statusOf(url, token, id), (s) => s === 'uploading', { within: 5000 }), 'uploading');
  const children = descendantsOf(first.pid);
  t.true(children.some((pid) => commandLineOf(pid)?.includes('fast-import')), `a git fast-import runs (children: ${children.map(commandLineOf).join('; ')})`);

  const signalled = Date.now();
  first.child.kill('SIGTERM');
  const end = await first.exitWithin(20_000);
  upload.stop();
  t.log(`exited ${String(end.code)} ${end.at - signalled} ms after SIGTERM`);
  t.is(end.code, 0);
  t.true(end.at - signalled < 1000 + 7000, 'within the grace of 1 s and a few seconds of closing');
  t.true(await upload.answer instanceof Error, 'the client was cut off');
  const left = children.filter((pid) => commandLineOf(pid)?.includes('git'));
  t.deepEqual(left, [], 'no git process of the daemon remains');
  t.regex(catalogueLog(dir)[0]!, new RegExp(`^Upload of image ${id} failed: the daemon stopped before the upload was complete`));
  // Looked at before the restart, whose store clears its incoming folder.
  const stored = (await readdir(join(dir, 'data', 'images'), { recursive: true })).filter((p) => p.includes(id));
  t.deepEqual(stored, [], 'nothing of the upload is left in the store');

  const next = daemon(t, config);
  const again = await next.serving();
  t.is(await statusOf(again, token, id), 'error');
  t.notRegex(next.stdout(), /took over the lock/, 'the stop released its lock');
  next.child.kill('SIGTERM');
  t.is((await next.exitWithin(15_000)).code, 0);
});

test('an upload that ends within the grace period completes after SIGTERM, and the daemon then exits', async (t) => {
  const { dir, config } = await setUp(t, { server: { shutdown_grace_seconds: 30 } });
  const first = daemon(t, config);
  const url = await first.serving();
  const token = await adminToken(dir);
  const id = await createImage({ url }, token, { name: 'lifecycle-grace', architecture: 'x86_64', access: 'public' });
  const upload = trickleUpload(url, token, id);
  t.teardown(() => upload.stop());
  t.is(await pollUntil(() => statusOf(url, token, id), (s) => s === 'uploading', { within: 5000 }), 'uploading');

  first.child.kill('SIGTERM');
  await pollUntil(() => first.stderr(), (s) => s.includes('shutting down'), { within: 5000 });
  const finished = Date.now();
  upload.finish();
  const answer = await upload.answer;
  t.is(answer instanceof Error ? answer.message : answer.status, 200, 'the upload in flight is served to its end');
  const end = await first.exitWithin(20_000);
  t.log(`exited ${String(end.code)} ${end.at - finished} ms after the upload's last bytes were sent`);
  t.is(end.code, 0);
  t.true(end.at - finished < 4000, 'once the upload is done, not at the end of the 30 s grace nor of its keep-alive (5 s)');
  t.regex(catalogueLog(dir)[0]!, new RegExp(`^Upload image ${id}: ${2 ** 20} bytes`));
});

test('a second signal during the shutdown stops the daemon at once; the next start marks the upload error', async (t) => {
  const { dir, config } = await setUp(t, { server: { shutdown_grace_seconds: 60 } });
  const first = daemon(t, config);
  const url = await first.serving();
  const token = await adminToken(dir);
  const id = await createImage({ url }, token, { name: 'lifecycle-twice', architecture: 'x86_64', access: 'public' });
  const upload = trickleUpload(url, token, id);
  t.teardown(() => upload.stop());
  t.is(await pollUntil(() => statusOf(url, token, id), (s) => s === 'uploading', { within: 5000 }), 'uploading');

  first.child.kill('SIGTERM');
  await pollUntil(() => first.stderr(), (s) => s.includes('shutting down'), { within: 5000 });
  const again = Date.now();
  first.child.kill('SIGINT');
  const end = await first.exitWithin(20_000);
  upload.stop();
  t.log(`exited ${String(end.code)} ${end.at - again} ms after the second signal`);
  t.is(end.code, 130, '128 + SIGINT');
  t.true(end.at - again < 5000, 'at once, not after the 60 s grace');

  const next = daemon(t, config);
  const nextUrl = await next.serving();
  t.is(await statusOf(nextUrl, token, id), 'error');
  next.child.kill('SIGTERM');
  t.is((await next.exitWithin(15_000)).code, 0);
});

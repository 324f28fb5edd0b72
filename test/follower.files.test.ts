/**
 * Followers serve the bytes too (issue 13). A real upstream daemon holds uploaded images; followers
 * sync its catalogue through its Git endpoint and fetch files from its file route through a relay
 * on loopback, which counts the reads and can corrupt or hold back the bytes (a hostile or slow
 * upstream). Per upstream: `off` answers a clear 409, `on_demand` fetches at the first download
 * (streamed to the client and into a local store, verified, one upstream read however many clients
 * ask at once), `immediate` fetches after the sync, within the mirror filters.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { FetchedFiles, fetchedKey } from '../src/sync/FetchedFiles.ts';
import { ON_DEMAND_AT_ONCE } from '../src/sync/FollowedFiles.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { pollUntil } from './helpers/polling.ts';
import { createImage, sha256, unique, uploadFile } from './helpers/images.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * The upstream's file route as the follower reaches it: relays to the upstream daemon, counts the
 * file reads per image, and for chosen images sends wrong bytes, one byte too many, or waits first.
 */
interface FileRelay {
  url: string;
  reads(id: string): number;
  corrupt: Set<string>;
  oversize: Set<string>;
  slow: Map<string, number>;
  close(): Promise<void>;
}

async function startFileRelay(target: string): Promise<FileRelay> {
  const counts = new Map<string, number>();
  const corrupt = new Set<string>();
  const oversize = new Set<string>();
  const slow = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const id = /^\/images\/([^/]+)\/file$/.exec(req.url ?? '')?.[1];
    if (id) counts.set(id, (counts.get(id) ?? 0) + 1);
    const upstream = request(`${target}${req.url}`, { method: req.method, headers: { ...req.headers, host: new URL(target).host } }, (answer) => {
      void (async () => {
        if (id && slow.has(id)) await sleep(slow.get(id)!);
        const headers = { ...answer.headers };
        if (id && oversize.has(id)) delete headers['content-length'];
        res.writeHead(answer.statusCode!, headers);
        let first = true;
        answer.on('data', (chunk: Buffer) => {
          if (id && corrupt.has(id) && first) chunk = Buffer.from(chunk.map((b, i) => (i === 7 ? b ^ 0xff : b)));
          first = false;
          res.write(chunk);
        });
        answer.on('end', () => res.end(id && oversize.has(id) ? Buffer.from('x') : undefined));
      })();
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    reads: (id) => counts.get(id) ?? 0,
    corrupt,
    oversize,
    slow,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let upstream: TestDaemon;
let relay: FileRelay;
/** on_demand, through the relay. */
let onDemand: TestDaemon;
/** immediate, aarch64 only, series s1 only, the newest one of each series; uploads.max_bytes below the big image. */
let immediate: TestDaemon;
/** The default: records only. */
let recordsOnly: TestDaemon;

interface Published {
  id: string;
  data: Buffer;
}
const images: Record<string, Published> = {};

async function publish(key: string, fields: Record<string, unknown>, size: number): Promise<Published> {
  const data = randomBytes(size);
  const id = await createImage(upstream, upstream.token, { name: unique(key), access: 'public', ...fields });
  await uploadFile(upstream, upstream.token, id, data);
  images[key] = { id, data };
  return images[key];
}

async function sync(d: TestDaemon): Promise<void> {
  const res = await call(d, d.token, 'POST', '/sync');
  const results = (res.json as { results?: Array<{ mode: string }> }).results;
  if (res.status !== 200 || !results?.every((r) => r.mode === 'adopted' || r.mode === 'fast-forward' || r.mode === 'merge')) throw new Error(`sync: ${res.status} ${res.text}`);
}

function follower(files: Record<string, unknown>, config: Record<string, unknown> = {}): Promise<TestDaemon> {
  return startTestDaemon({ config: { ...config, upstreams: { up: { url: `${upstream.url}/catalog.git`, interval_seconds: 0, ...files } } } });
}

async function keptFiles(d: TestDaemon): Promise<Record<string, { key: string; store: string }>> {
  const text = await readFile(join(d.dataDir, 'followed-files.json'), 'utf8').catch(() => '{"entries":{}}');
  return (JSON.parse(text) as { entries: Record<string, { key: string; store: string }> }).entries;
}

test.before(async () => {
  upstream = await startTestDaemon();
  relay = await startFileRelay(upstream.url);
  // The followers start while the upstream takes its images; the series' two aarch64 images one after the other (uploaded_at orders them).
  const followers = Promise.all([
    follower({ files: 'on_demand', files_url: relay.url }),
    follower({ files: 'immediate', files_url: relay.url, architecture: ['aarch64'], series: ['s1'], keep_newest: 1 }, { uploads: { max_bytes: 4 * MiB } }),
    follower({}),
  ]);
  followers.catch(() => undefined);
  await Promise.all([
    publish('missThenHit', { architecture: 'x86_64' }, 3 * MiB + 5),
    publish('concurrent', {}, 2 * MiB),
    publish('corrupt', {}, 1 * MiB),
    publish('oversize', {}, 300 * KiB),
    publish('rangeMiss', {}, 1 * MiB),
    publish('abandoned', {}, 4 * MiB),
    publish('earlier', {}, 200 * KiB),
    publish('stalled', {}, 24 * MiB),
    publish('big', { architecture: 'aarch64' }, 5 * MiB),
    publish('x86', { architecture: 'x86_64', series: 's1' }, 64 * KiB),
    publish('otherSeries', { architecture: 'aarch64', series: 's2' }, 64 * KiB),
    (async () => {
      await publish('older', { architecture: 'aarch64', series: 's1' }, 64 * KiB);
      await sleep(10);
      await publish('newer', { architecture: 'aarch64', series: 's1' }, 96 * KiB);
      await sleep(10);
      await publish('hidden', { architecture: 'aarch64', series: 's1' }, 64 * KiB);
    })(),
  ]);
  [onDemand, immediate, recordsOnly] = await followers;
  // The immediate follower's site does not offer one image (hidden before its record arrives).
  const hidden = await call(immediate, immediate.token, 'PUT', `/policy/hidden/${images['hidden']!.id}`, { reason: 'not offered here' });
  if (hidden.status !== 200) throw new Error(`hide: ${hidden.status} ${hidden.text}`);
  await Promise.all([sync(onDemand), sync(immediate), sync(recordsOnly)]);
});

test.after.always(async () => {
  await Promise.allSettled([onDemand?.stop(), immediate?.stop(), recordsOnly?.stop()]);
  await relay?.close();
  await upstream?.stop();
});

test('on_demand: the first download fetches from the upstream while streaming it, the second is served from the kept copy', async (t) => {
  const { id, data } = images['missThenHit']!;
  const miss = await call(onDemand, undefined, 'GET', `/images/${id}/file`);
  t.is(miss.status, 200, miss.text);
  t.is(sha256(miss.bytes), sha256(data), 'the miss streams the upstream bytes whole');
  t.is(relay.reads(id), 1);
  const hit = await call(onDemand, undefined, 'GET', `/images/${id}/file`);
  t.is(sha256(hit.bytes), sha256(data));
  const range = await call(onDemand, undefined, 'GET', `/images/${id}/file`, undefined, { range: 'bytes=1000-1999' });
  t.is(range.status, 206);
  t.deepEqual(range.bytes, data.subarray(1000, 2000));
  t.is(relay.reads(id), 1, 'later downloads are local');
  const kept = (await keptFiles(onDemand))[id]!;
  t.like(kept, { key: `followed.up.${id}`, store: 'fs' }, 'kept in the local registry under a key of its own');
  const record = (await call(onDemand, undefined, 'GET', `/images/${id}`)).json as { locations: Array<{ key: string }> };
  t.false(record.locations.some((l) => l.key.startsWith('followed.')), "the upstream's record is not changed");
});

test('two clients during the first fetch share one upstream read, and both get the whole file', async (t) => {
  const { id, data } = images['concurrent']!;
  relay.slow.set(id, 600);
  const both = await Promise.all([0, 1].map(() => call(onDemand, undefined, 'GET', `/images/${id}/file`)));
  for (const answer of both) {
    t.is(answer.status, 200, answer.text);
    t.is(sha256(answer.bytes), sha256(data));
  }
  t.is(relay.reads(id), 1);
});

test('bytes that fail verification are never kept: the client gets a cut download, a waiting one a 502, and the next try waits out a backoff, then fetches again', async (t) => {
  for (const [key, bad] of [['corrupt', relay.corrupt], ['oversize', relay.oversize]] as const) {
    const { id, data } = images[key]!;
    bad.add(id);
    // Slow, so that a second client is surely waiting on this fetch when it fails.
    relay.slow.set(id, 1500);
    const first = fetch(`${onDemand.url}/images/${id}/file`, { signal: AbortSignal.timeout(20_000) });
    await pollUntil(() => relay.reads(id), (n) => n === 1, { within: 10_000 });
    // A waiting client (a range, served from the copy) is told it failed, in the error shape.
    const waiting = call(onDemand, undefined, 'GET', `/images/${id}/file`, undefined, { range: 'bytes=0-9' });
    const res = await first;
    t.is(res.status, 200, 'the answer started while the bytes were still arriving');
    const read = await res.arrayBuffer().then(
      (b) => `whole ${b.byteLength}`,
      (e: Error) => e.name,
    );
    t.not(read, `whole ${data.length}`, `${key}: a clean body of unverified bytes`);
    t.not(read, 'TimeoutError', `${key}: the download hung instead of ending`);
    t.is((await keptFiles(onDemand))[id], undefined, `${key}: nothing kept`);
    t.is((await waiting).status, 502);
    t.regex((await waiting).text, new RegExp(`upstream up served image ${id}'s file with (digest|more than)`));
    // Right after a failure the upstream is not asked again: whoever asks is told when to come back, and why.
    const backoff = await call(onDemand, undefined, 'GET', `/images/${id}/file`);
    t.is(backoff.status, 429);
    t.true(Number(backoff.headers.get('retry-after')) >= 1);
    t.regex(backoff.text, /could not be fetched from upstream up .* s ago \(upstream up served image/);
    t.is(relay.reads(id), 1, `${key}: the backoff asked the upstream nothing`);
    bad.delete(id);
    relay.slow.delete(id);
    await sleep(Number(backoff.headers.get('retry-after')) * 1000);
    const healed = await call(onDemand, undefined, 'GET', `/images/${id}/file`);
    t.is(sha256(healed.bytes), sha256(data));
    t.is(relay.reads(id), 2, `${key}: the try after the backoff read again, and kept the good bytes`);
  }
});

// Serial (ava runs serial tests before the others): the other tests' fetches would count against the cap.
test.serial('downloads start at most ON_DEMAND_AT_ONCE fetches at once: beyond that they are told to come back (429), and nothing more is asked of the upstream', async (t) => {
  const held = await Promise.all(Array.from({ length: ON_DEMAND_AT_ONCE + 1 }, (_, i) => publish(`held${i}`, {}, 64 * KiB)));
  await sync(onDemand);
  for (const { id } of held) relay.slow.set(id, 3000);
  const firsts = held.slice(0, ON_DEMAND_AT_ONCE).map(({ id }) => call(onDemand, undefined, 'GET', `/images/${id}/file`));
  await pollUntil(() => held.slice(0, ON_DEMAND_AT_ONCE).every(({ id }) => relay.reads(id) === 1), (all) => all, { within: 10_000 });
  const extra = held[ON_DEMAND_AT_ONCE]!;
  const refused = await call(onDemand, undefined, 'GET', `/images/${extra.id}/file`);
  t.is(refused.status, 429, refused.text);
  t.truthy(refused.headers.get('retry-after'));
  t.is(relay.reads(extra.id), 0);
  for (const answer of await Promise.all(firsts)) t.is(answer.status, 200);
  // A fetch counts until its copy is kept and recorded, a little after its client has the last byte.
  const kept = await pollUntil(() => keptFiles(onDemand), (k) => held.slice(0, ON_DEMAND_AT_ONCE).every(({ id }) => k[id] !== undefined), { within: 30_000 });
  t.true(held.slice(0, ON_DEMAND_AT_ONCE).every(({ id }) => kept[id] !== undefined));
  relay.slow.delete(extra.id);
  t.is((await call(onDemand, undefined, 'GET', `/images/${extra.id}/file`)).status, 200, 'once they are done, the next one starts');
});

test('a client that gives up during the first fetch does not stop it: the copy is kept for the next', async (t) => {
  const { id, data } = images['abandoned']!;
  relay.slow.set(id, 300);
  const controller = new AbortController();
  const res = await fetch(`${onDemand.url}/images/${id}/file`, { signal: controller.signal });
  t.is(res.status, 200);
  controller.abort();
  const kept = await pollUntil(() => keptFiles(onDemand), (f) => f[id] !== undefined, { within: 10_000 });
  t.truthy(kept[id]);
  t.is(sha256((await call(onDemand, undefined, 'GET', `/images/${id}/file`)).bytes), sha256(data));
  t.is(relay.reads(id), 1);
});

test('a first download that stops reading does not hold back the others: it is cut, the fetch goes on', async (t) => {
  const { id, data } = images['stalled']!;
  const { hostname, port } = new URL(onDemand.url);
  // Asks for the file and never reads the answer: more than the socket buffers and the fetch's own hold.
  const stalled = connect(Number(port), hostname);
  stalled.pause();
  t.teardown(() => void stalled.destroy());
  stalled.write(`GET /images/${id}/file HTTP/1.1\r\nHost: ${hostname}:${port}\r\n\r\n`);
  await pollUntil(() => relay.reads(id), (n) => n === 1, { within: 5000 });
  const started = Date.now();
  const other = await call(onDemand, undefined, 'GET', `/images/${id}/file`);
  t.is(other.status, 200, other.text);
  t.is(sha256(other.bytes), sha256(data));
  t.is(relay.reads(id), 1, 'one upstream read all the same');
  // Without the limit it waits until the upstream's idle timeout (60 s) fails the fetch: a 502.
  t.true(Date.now() - started < 45_000, 'the waiting download was held back by the lag limit, not by the stalled one');
});

test('a range asked for on a miss is served from the whole file, fetched once', async (t) => {
  const { id, data } = images['rangeMiss']!;
  const res = await call(onDemand, undefined, 'GET', `/images/${id}/file`, undefined, { range: 'bytes=-100' });
  t.is(res.status, 206);
  t.deepEqual(res.bytes, data.subarray(data.length - 100));
  t.is((await call(onDemand, undefined, 'GET', `/images/${id}/file`)).bytes.length, data.length);
  t.is(relay.reads(id), 1);
});

test('a record naming more bytes than uploads.max_bytes is not fetched', async (t) => {
  const { id } = images['big']!;
  const res = await call(immediate, undefined, 'GET', `/images/${id}/file`);
  t.is(res.status, 409);
  t.regex(res.text, /over uploads\.max_bytes/);
  t.is(relay.reads(id), 0);
});

test("the follower's own images are served from its own store, never fetched", async (t) => {
  const data = randomBytes(10 * KiB);
  const id = await createImage(onDemand, onDemand.token, { name: unique('local'), access: 'public' });
  await uploadFile(onDemand, onDemand.token, id, data);
  t.is(sha256((await call(onDemand, undefined, 'GET', `/images/${id}/file`)).bytes), sha256(data));
  t.is(relay.reads(id), 0);
});

test('immediate: the files a sync brings are fetched in the background, within the mirror filters', async (t) => {
  const newer = images['newer']!;
  const kept = await pollUntil(() => keptFiles(immediate), (f) => f[newer.id] !== undefined, { within: 10_000 });
  t.truthy(kept[newer.id], 'the newest aarch64 image of series s1 was fetched');
  const download = await call(immediate, undefined, 'GET', `/images/${newer.id}/file`);
  t.is(sha256(download.bytes), sha256(newer.data));
  t.is(relay.reads(newer.id), 1, 'fetched once, by the sync, not by the download');
  // The hidden image is newer still, but the site does not offer it: not fetched, and no place in keep_newest.
  const hidden = images['hidden']!;
  t.is(kept[hidden.id], undefined);
  const refused = await call(immediate, immediate.token, 'GET', `/images/${hidden.id}/file`);
  t.is(refused.status, 409);
  t.regex(refused.text, /the site policy hides it/);
  t.is((await call(immediate, undefined, 'GET', `/images/${hidden.id}/file`)).status, 404, 'and others do not see it at all');
  t.is(relay.reads(hidden.id), 0);
  for (const [key, filter] of [['x86', 'architecture'], ['older', 'keep_newest'], ['otherSeries', 'series']] as const) {
    const { id } = images[key]!;
    t.is(kept[id], undefined, `${key} is not fetched`);
    const res = await call(immediate, undefined, 'GET', `/images/${id}/file`);
    t.is(res.status, 409, key);
    t.regex(res.text, new RegExp(`followed from upstream up and upstreams\\.up\\.${filter} leaves its file out of this mirror`));
    t.is(relay.reads(id), 0, `${key}: never read`);
    t.is((await call(immediate, undefined, 'GET', `/images/${id}`)).status, 200, `${key}: its record is synced all the same`);
  }
  // A newer image in the series: fetched after the next sync, and the copy that fell out of the newest one deleted.
  const newest = await publish('newest', { architecture: 'aarch64', series: 's1' }, 32 * KiB);
  await sync(immediate);
  const after = await pollUntil(() => keptFiles(immediate), (f) => f[newest.id] !== undefined && f[newer.id] === undefined, { within: 10_000 });
  t.truthy(after[newest.id]);
  t.is(after[newer.id], undefined, 'the copy keep_newest no longer keeps is dropped');
  const dropped = await call(immediate, undefined, 'GET', `/images/${newer.id}/file`);
  t.is(dropped.status, 409);
  t.regex(dropped.text, /keep_newest/);
});

test("immediate: what the site's trust policy would not let anyone download is not fetched ahead of a download", async (t) => {
  const published = await publish('unendorsed', { architecture: 'riscv64', series: 'trust-s' }, 48 * KiB);
  const dir = await mkdtemp(join(tmpdir(), 'visor-trust-policy-'));
  const policy = join(dir, 'trust-policy.json');
  await writeFile(policy, JSON.stringify({ threshold: 1, treatment: { unendorsed: 'listed' } }));
  const filters = { files: 'immediate', files_url: relay.url, series: ['trust-s'] };
  const [strict, open] = await Promise.all([follower(filters, { trust: { policy } }), follower(filters)]);
  try {
    await Promise.all([sync(strict), sync(open)]);
    // The follower without the policy fetches it: the premise that an immediate fetch would happen.
    await pollUntil(() => keptFiles(open), (f) => f[published.id] !== undefined, { within: 10_000 });
    t.is((await call(strict, undefined, 'GET', `/images/${published.id}`)).status, 200, 'listed: its record is shown');
    t.is((await keptFiles(strict))[published.id], undefined, 'but its file is not fetched');
    t.is(relay.reads(published.id), 1, 'read once, by the follower without the policy');
    t.is((await call(strict, undefined, 'GET', `/images/${published.id}/file`)).status, 403, 'a download is refused by the policy all the same');
  } finally {
    await Promise.allSettled([strict.stop(), open.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('images synced before this instance kept their upstream are served once it starts again (a single upstream)', async (t) => {
  const { id, data } = images['earlier']!;
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-follower-'));
  const config = { upstreams: { up: { url: `${upstream.url}/catalog.git`, interval_seconds: 0, files: 'on_demand', files_url: relay.url } } };
  const first = await startTestDaemon({ dataDir, config });
  await sync(first);
  await first.stop();
  // What an earlier version left: the records, and no record of where they came from.
  await rm(join(dataDir, 'followed-origins.json'));
  const again = await startTestDaemon({ dataDir, config });
  try {
    const res = await call(again, undefined, 'GET', `/images/${id}/file`);
    t.is(res.status, 200, res.text);
    t.is(sha256(res.bytes), sha256(data));
  } finally {
    await again.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});

test('off: a followed image without files answers a clear 409, anonymous and admin alike', async (t) => {
  const { id } = images['missThenHit']!;
  for (const key of [undefined, recordsOnly.token]) {
    const res = await call(recordsOnly, key, 'GET', `/images/${id}/file`);
    t.is(res.status, 409);
    t.regex(res.text, new RegExp(`image ${id} has no location in a store this daemon has: it is followed from upstream up without files \\(upstreams\\.up\\.files is off\\)`));
  }
});

test("the record of kept copies survives a restart, and one naming another image's object is refused, not followed", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-fetched-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const id = '11111111-2222-4333-8444-555555555555';
  const other = '66666666-7777-4888-9999-000000000000';
  const state = await FetchedFiles.open(dir);
  const file = { upstream: 'up', store: 'fs', key: fetchedKey('up', id), size: 3, checksum: `sha256:${'0'.repeat(64)}`, fetched_at: new Date().toISOString() };
  await Promise.all([state.followed('up', [id], []), state.fetched(id, file)]);
  const again = await FetchedFiles.open(dir);
  t.deepEqual(again.fileOf(id), file);
  t.is(again.originOf(id), 'up');
  await writeFile(join(dir, 'followed-files.json'), JSON.stringify({ version: 1, entries: { [id]: { ...file, key: other } } }));
  await t.throwsAsync(FetchedFiles.open(dir), { message: /followed-files\.json is not a state file VISOR wrote/ });
});

test('file policies are checked like every setting: which key, which rule, what was expected', (t) => {
  const load = (up: Record<string, unknown>, stores?: Record<string, unknown>) => () =>
    loadConfig({ env: {}, overrides: { data_dir: '/tmp/visor-config-check', ...(stores ? { stores } : {}), upstreams: { up: { url: 'https://example.org/c.git', ...up } } } as never });
  t.throws(load({ files: 'sometimes' }), { message: /upstreams\.up\.files.*one of off, on_demand, immediate/ });
  t.throws(load({ files: 'on_demand' }), { message: /upstreams\.up\.files_url/ });
  t.throws(load({ files: 'on_demand', files_url: 'ftp://example.org' }), { message: /upstreams\.up\.files_url/ });
  t.throws(load({ files: 'on_demand', files_url: 'https://u:p@example.org' }), { message: /without credentials/ });
  t.throws(load({ files: 'on_demand', files_url: 'https://example.org', files_store: 'nope' }), { message: /upstreams\.up\.files_store/ });
  t.throws(load({ files: 'on_demand', files_url: 'https://example.org', files_store: 'web' }, { web: { type: 'http', url: 'https://example.org/images/' } }), { message: /store VISOR writes to/ });
  t.throws(load({ keep_newest: 0 }), { message: /upstreams\.up\.keep_newest/ });
  t.throws(load({ architecture: 'x86_64' }), { message: /upstreams\.up\.architecture/ });
  const ok = loadConfig({ env: {}, overrides: { data_dir: '/tmp/visor-config-check', upstreams: { up: { url: 'https://example.org/c.git', files: 'immediate', files_url: 'https://example.org/', series: ['s1'], keep_newest: 2 } } } });
  t.like(ok.upstreams[0]!.files, { policy: 'immediate', url: 'https://example.org', store: 'fs', series: ['s1'], keepNewest: 2 });
});

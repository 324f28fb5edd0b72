/**
 * Stores that reach the same objects under two names are refused at start: through the second name
 * a caller could register another image's object as their own (the link rule compares keys per
 * store), read bytes they may not read, or have them deleted with their own image.
 */
import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigFile } from '../src/config/VisorConfig.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { addUser } from './helpers/accounts.ts';

const load = (stores: ConfigFile['stores']) => loadConfig({ overrides: { data_dir: '/srv/visor', stores }, env: { HOME: '/home/u' } });
const s3 = { type: 's3', bucket: 'images', endpoint: 'http://127.0.0.1:8080' };
const swift = { type: 'swift', auth_url: 'http://127.0.0.1:8080/auth/v1.0', user: 'acct:user', key: 'k', container: 'images' };

const overlapping: Array<[string, ConfigFile['stores'], string]> = [
  ['an fs store inside another', { fs: { path: '/srv/images' }, inner: { type: 'fs', path: '/srv/images/more' } }, 'stores.inner'],
  ['an fs store around another', { fs: { path: '/srv/images/more' }, outer: { type: 'fs', path: '/srv/images' } }, 'stores.outer'],
  ['two fs stores on one folder', { fs: { path: '/srv/images' }, again: { type: 'fs', path: '/srv/images/' } }, 'stores.again'],
  ['one bucket, nested prefixes', { a: { ...s3, prefix: 'images/' }, b: { ...s3, prefix: 'images/private/' } }, 'stores.b'],
  ['one bucket, a prefix that extends another without a slash', { a: { ...s3, prefix: 'img' }, b: { ...s3, prefix: 'img2/' } }, 'stores.b'],
  ['one AWS bucket in two regions', { a: { type: 's3', bucket: 'images' }, b: { type: 's3', bucket: 'images', region: 'eu-west-1', prefix: 'x/' } }, 'stores.b'],
  ['an http store serving an S3 bucket (path style)', { a: s3, web: { type: 'http', url: 'https://127.0.0.1:8080/images/' } }, 'stores.web'],
  ['an http store serving an AWS bucket (virtual host)', { a: { type: 's3', bucket: 'images' }, web: { type: 'http', url: 'https://images.s3.amazonaws.com/' } }, 'stores.web'],
  ['one swift container twice', { a: swift, b: { ...swift, user: 'acct:other', prefix: 'p/' } }, 'stores.b'],
  ["a swift store's container as another's segments", { a: swift, b: { ...swift, container: 'other', segment_container: 'images' } }, 'stores.b'],
  ['one HDFS folder inside another', { a: { type: 'hdfs', url: 'http://nn:9870', path: '/visor' }, b: { type: 'hdfs', url: 'http://nn:9870', path: '/visor/b' } }, 'stores.b'],
];
for (const [what, stores, field] of overlapping) {
  test(`refused at start, naming the store and the one it overlaps: ${what}`, (t) => {
    const error = t.throws(() => load(stores), { instanceOf: VisorError });
    t.is(error?.problems[0]?.field, field, error?.message);
    t.is(error?.problems[0]?.rule, 'apart');
    t.regex(error!.message, /reaches the objects of store \w+/);
  });
}

const apart: Array<[string, ConfigFile['stores']]> = [
  ['the default fs stores of one data directory', { fs: {}, fs2: { type: 'fs' } }],
  ['sibling folders whose names share a beginning', { fs: { path: '/srv/images' }, b: { type: 'fs', path: '/srv/images2' } }],
  ['one bucket, disjoint prefixes', { a: { ...s3, prefix: 'a/' }, b: { ...s3, prefix: 'b/' } }],
  ['two buckets', { a: s3, b: { ...s3, bucket: 'other' } }],
  ['buckets of one name on two services of one host (two ports)', { a: s3, b: { ...s3, endpoint: 'http://127.0.0.1:9090' } }],
  ['an http store on another port of the S3 host', { a: s3, web: { type: 'http', url: 'http://127.0.0.1:9090/images/' } }],
  ['two http mirrors of one site, one inside the other (neither writes)', { web: { type: 'http', url: 'https://mirror.example.org/' }, noble: { type: 'http', url: 'https://mirror.example.org/noble/' } }],
  ['memory stores', { m1: { type: 'memory' }, m2: { type: 'memory' } }],
];
for (const [what, stores] of apart) {
  test(`accepted: ${what}`, (t) => {
    t.notThrows(() => load(stores));
  });
}

test('a daemon configured with two fs stores whose folders nest does not start, and says why', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-overlap-'));
  try {
    const started = startTestDaemon({ dataDir: dir, config: { stores: { fs: { type: 'fs', path: join(dir, 'images') }, nested: { type: 'fs', path: join(dir, 'images', 'ab') } } } });
    const error = await t.throwsAsync(started, { instanceOf: VisorError });
    t.regex(error!.message, /stores\.nested: reaches the objects of store fs/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an http store whose server serves an fs store's folder cannot register another image's file: answered as a missing object", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-webfs-'));
  // A plain web server over the fs store's folder, as an admin might put one up for fast downloads.
  const server = createServer(async (req, res) => {
    const path = join(dir, 'images', decodeURIComponent(new URL(req.url!, 'http://x').pathname));
    const s = path.startsWith(join(dir, 'images')) ? await stat(path).catch(() => undefined) : undefined;
    if (!s?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': s.size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(path).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const web = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const d = await startTestDaemon({ dataDir: dir, config: { stores: { fs: { type: 'fs' }, web: { type: 'http', url: `${web}/` } } } });
  try {
    const data = randomBytes(2000);
    const victim = await createImage(d, d.token, { name: unique('victim'), access: 'private' });
    await uploadFile(d, d.token, victim, data);
    const served = await fetch(`${web}/${victim.slice(0, 2)}/${victim}`);
    t.is(served.status, 200, 'the web server does serve the private file (the premise)');
    await served.arrayBuffer();
    const mallory = await addUser(d, unique('mallory'));
    const ghost = randomUUID();
    const attempt = async (id: string) => call(d, mallory, 'POST', `/images/${await createImage(d, mallory, { name: unique('mine') })}/locations`, { url: `${web}/${id.slice(0, 2)}/${id}` });
    const shape = (text: string, id: string) => text.replace(`${id.slice(0, 2)}/${id}`, '<shard>/<id>');
    const taken = await attempt(victim);
    const absent = await attempt(ghost);
    t.is(taken.status, 404, taken.text);
    t.is(shape(taken.text, victim), shape(absent.text, ghost));
  } finally {
    await d.stop();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/**
 * Stores that reach the same objects under two names are refused at start: through the second name
 * a caller could register another image's object as their own (the link rule compares keys per
 * store), read bytes they may not read, or have them deleted with their own image.
 */
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type ConfigFile } from '../src/config/VisorConfig.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { startTestDaemon } from './helpers/daemon.ts';

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

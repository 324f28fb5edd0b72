import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { randomFile, sha256, storedFile, unique } from './helpers/images.ts';
import { awaitAuditEntries } from './helpers/accounts.ts';
import { ChecksumMismatchError, VisorClient, VisorClientError, type ImageView } from '../src/index.ts';

// One real daemon over HTTP for the whole file; every test makes its own images so tests can run concurrently.
let daemon: TestDaemon;
let visor: VisorClient;
let anonymous: VisorClient;
let scratch: string;

test.before(async () => {
  daemon = await startTestDaemon();
  visor = new VisorClient({ url: daemon.url, token: daemon.token });
  anonymous = new VisorClient({ url: daemon.url });
  scratch = await mkdtemp(join(tmpdir(), 'visor-client-test-'));
});

test.after.always(async () => {
  await daemon?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const imageFile = (bytes: number) => randomFile(scratch, bytes);

/** A registered image with an uploaded file. */
async function availableImage(size = 64 * 1024, fields: Parameters<VisorClient['create']>[0] = {}) {
  const { path, content } = await imageFile(size);
  const created = await visor.create({ name: unique('image'), ...fields });
  const image = await visor.upload(created.id, path);
  return { image, content };
}

async function leftovers(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith('.part'));
}

async function rejection(promise: Promise<unknown>): Promise<VisorClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof VisorClientError)) throw new Error(`expected a VisorClientError, got ${String(error)}`);
  return error;
}

test('create registers a locked, private image owned by the caller', async (t) => {
  const image = await visor.create({ name: 'Debian 13', architecture: 'x86_64', disk: 'qcow2' });
  t.regex(image.id, /^[0-9a-f-]{36}$/);
  t.is(image.status, 'locked');
  t.is(image.access, 'private');
  t.is(image.architecture, 'x86_64');
  t.true(image.uri.endsWith(`/images/${image.id}`));
});

test('upload streams a file; the image becomes available with its size and checksum', async (t) => {
  const { path, content } = await imageFile(3 * 1024 * 1024 + 17);
  const created = await visor.create({ name: unique('upload') });
  const progress: Array<[number, number | undefined]> = [];
  const image = await visor.upload(created.id, path, { onProgress: (done, total) => progress.push([done, total]) });
  t.is(image.status, 'available');
  t.is(image.size, content.length);
  t.is(image.checksum, sha256(content));
  t.deepEqual(progress.at(-1), [content.length, content.length]);
});

test('upload accepts a stream of unknown length and the digest algorithm asked for', async (t) => {
  const content = randomBytes(200_000);
  const created = await visor.create({ name: unique('stream') });
  const image = await visor.upload(created.id, Readable.from([content.subarray(0, 1000), content.subarray(1000)]), {
    algorithm: 'sha512',
  });
  t.is(image.size, content.length);
  t.is(image.checksum, `sha512:${createHash('sha512').update(content).digest('hex')}`);
});

test('upload with a wrong expected checksum is rejected (400) and leaves the image in error', async (t) => {
  const { path } = await imageFile(10_000);
  const created = await visor.create({ name: unique('bad-checksum') });
  const error = await rejection(visor.upload(created.id, path, { checksum: `sha256:${'0'.repeat(64)}` }));
  t.is(error.status, 400);
  t.is(error.code, 'invalid');
  t.is((await visor.get(created.id)).status, 'error');
});

test('upload to an image that already has its file is a conflict (409)', async (t) => {
  const { image } = await availableImage(1000);
  const { path } = await imageFile(1000);
  const error = await rejection(visor.upload(image.id, path));
  t.is(error.status, 409);
  t.is(error.code, 'conflict');
});

test('download writes the file and verifies its digest, leaving no temporary file', async (t) => {
  const { image, content } = await availableImage(2 * 1024 * 1024);
  const dir = await mkdtemp(join(scratch, 'download-'));
  const destination = join(dir, 'disk.raw');
  let reported = 0;
  const result = await visor.download(image.id, destination, { onProgress: (done) => (reported = done) });
  t.true((await readFile(destination)).equals(content));
  t.is(result.bytes, content.length);
  t.is<string | undefined, string | undefined>(result.checksum, image.checksum);
  t.is(result.image.id, image.id);
  t.is(reported, content.length);
  t.deepEqual(await readdir(dir), ['disk.raw']);
});

test('download into a writable stream', async (t) => {
  const { image, content } = await availableImage(100_000);
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  const result = await visor.download(image.id, sink);
  t.true(Buffer.concat(chunks).equals(content));
  t.is<string | undefined, string | undefined>(result.checksum, image.checksum);
});

test('download of a range fetches only those bytes', async (t) => {
  const { image, content } = await availableImage(100_000);
  const destination = join(scratch, unique('range'));
  const result = await visor.download(image.id, destination, { range: { start: 1000, end: 1999 } });
  t.is(result.bytes, 1000);
  t.true((await readFile(destination)).equals(content.subarray(1000, 2000)));
  // Only those bytes crossed the wire: the daemon answered a range, not the whole file.
  const downloads = await awaitAuditEntries(daemon, (e) => e.image === image.id && e.action === 'image.download');
  t.deepEqual(downloads.map((e) => [e.status, e.bytes]), [[206, 1000]]);
});

test('download verifies the digest and leaves no file when it does not match', async (t) => {
  const { image, content } = await availableImage(500_000);
  // Bit rot in the store: same size, one byte different.
  const corrupt = Buffer.from(content);
  corrupt[250_000] = (corrupt[250_000] ?? 0) ^ 0xff;
  await writeFile(await storedFile(daemon.dataDir, image), corrupt);

  const dir = await mkdtemp(join(scratch, 'mismatch-'));
  const destination = join(dir, 'disk.raw');
  const error = await rejection(visor.download(image.id, destination));
  t.true(error instanceof ChecksumMismatchError);
  t.is(error.code, 'digest_mismatch');
  t.is<string | undefined, string | undefined>((error as ChecksumMismatchError).expected, image.checksum);
  t.is((error as ChecksumMismatchError).actual, sha256(corrupt));
  t.deepEqual(await readdir(dir), []);

  // Verification can be declined deliberately, e.g. to inspect the damaged bytes.
  const unchecked = await visor.download(image.id, destination, { verify: false });
  t.is(unchecked.checksum, sha256(corrupt));
});

test('download of an image without a file is a conflict (409) and creates nothing', async (t) => {
  const created = await visor.create({ name: unique('no-file') });
  const dir = await mkdtemp(join(scratch, 'no-file-'));
  const error = await rejection(visor.download(created.id, join(dir, 'disk.raw')));
  t.is(error.status, 409);
  t.deepEqual(await leftovers(dir), []);
  t.deepEqual(await readdir(dir), []);
});

test('list filters by field, tag and property; detail gives whole records', async (t) => {
  const series = unique('filters');
  const arm = await visor.create({ name: 'arm', series, architecture: 'aarch64', tags: ['lts', 'cloud'] });
  await visor.create({ name: 'x86', series, architecture: 'x86_64', tags: ['lts'], properties: { os: 'linux' } });

  const byArch = await visor.list({ series, architecture: 'aarch64' });
  t.deepEqual(
    byArch.images.map((i) => i.id),
    [arm.id],
  );
  t.is(byArch.next, undefined);
  // Brief listings leave out the bookkeeping fields.
  t.false('created_at' in (byArch.images[0] ?? {}));

  t.deepEqual((await visor.list({ series, tag: ['lts', 'cloud'] })).images.map((i) => i.name), ['arm']);
  t.deepEqual((await visor.list({ series, 'property.os': 'linux' })).images.map((i) => i.name), ['x86']);
  t.deepEqual(
    (await visor.list({ series, architecture: ['aarch64', 'x86_64'], sort: 'name', dir: 'asc' })).images.map((i) => i.name),
    ['arm', 'x86'],
  );

  const detail = await visor.detail({ series, name: 'arm' });
  t.is(detail.images[0]?.created_at, arm.created_at);
});

test('listAll follows next links until every page is read', async (t) => {
  const series = unique('pages');
  const ids = new Set<string>();
  for (let i = 0; i < 5; i++) ids.add((await visor.create({ name: `page ${i}`, series })).id);

  const first = await visor.list({ series, limit: 2 });
  t.is(first.images.length, 2);
  t.truthy(first.next);

  const all: string[] = [];
  for await (const image of visor.listAll({ series, limit: 2 })) all.push(image.id);
  t.is(all.length, 5);
  t.deepEqual(all.toSorted(), [...ids].sort());

  const detailed: ImageView[] = [];
  for await (const image of visor.listAll({ series, limit: 2 }, { detail: true })) detailed.push(image);
  t.is(detailed.length, 5);
  t.true(detailed.every((image) => typeof image.created_at === 'string'));
});

test('invalid input is reported with one problem per field (400)', async (t) => {
  const error = await rejection(
    visor.create({ name: unique('invalid'), architecture: 'vax', min_ram: -1 } as Parameters<VisorClient['create']>[0]),
  );
  t.is(error.status, 400);
  t.is(error.code, 'invalid');
  t.deepEqual(error.problems.map((p) => p.field).sort(), ['architecture', 'min_ram']);
  for (const problem of error.problems) t.truthy(problem.message);
});

test('a missing image is not_found (404)', async (t) => {
  const error = await rejection(visor.get('00000000-0000-4000-8000-000000000000'));
  t.is(error.status, 404);
  t.is(error.code, 'not_found');
});

test('writes need a token (401); anonymous readers see only public images', async (t) => {
  const error = await rejection(anonymous.create({ name: 'nope' }));
  t.is(error.status, 401);
  t.is(error.code, 'unauthenticated');

  const series = unique('visibility');
  const publicImage = await visor.create({ name: 'public', series, access: 'public' });
  await visor.create({ name: 'private', series });
  t.deepEqual((await anonymous.list({ series })).images.map((i) => i.id), [publicImage.id]);
  t.is((await visor.list({ series })).images.length, 2);
});

test('writes to an existing image without a token are 401, whatever its visibility', async (t) => {
  // The contract puts authentication before lookup: an anonymous writer learns nothing about private images.
  const { image } = await availableImage(1000);
  const { path } = await imageFile(1000);
  t.is((await rejection(anonymous.update(image.id, { name: 'renamed' }))).status, 401);
  t.is((await rejection(anonymous.delete(image.id))).status, 401);
  t.is((await rejection(anonymous.upload(image.id, path))).status, 401);
});

test('update changes fields, null removes them, and a stale If-Match is refused (412)', async (t) => {
  const created = await visor.create({ name: unique('update'), description: 'old', min_ram: 256 });
  const { image, etag } = await visor.getWithETag(created.id);
  t.truthy(etag);

  const updated = await visor.update(image.id, { min_ram: 512, description: null, tags: ['a'] }, { ifMatch: etag });
  t.is(updated.min_ram, 512);
  t.is(updated.description, undefined);
  t.deepEqual(updated.tags, ['a']);

  const error = await rejection(visor.update(image.id, { min_ram: 1024 }, { ifMatch: etag }));
  t.is(error.status, 412);
  t.is((await visor.get(image.id)).min_ram, 512);
});

test('delete answers the record as it was, and the image is gone', async (t) => {
  const { image } = await availableImage(1000);
  const deleted = await visor.delete(image.id);
  t.is(deleted.id, image.id);
  t.is(deleted.status, 'available');
  t.is((await rejection(visor.get(image.id))).status, 404);
});

test('latest answers the newest available image of a series', async (t) => {
  const series = unique('latest');
  await availableImage(1000, { series });
  const { image: newest } = await availableImage(1000, { series });
  await visor.create({ name: 'registered but not uploaded', series });
  t.is((await visor.latest(series)).id, newest.id);
  t.is((await rejection(visor.latest(unique('empty')))).status, 404);
});

test('health reports the daemon ok', async (t) => {
  const health = await visor.health();
  t.is(health.status, 'ok');
  t.true(health.stores['fs']?.ok);
});

test('an unreachable daemon is a transport error, not a crash', async (t) => {
  const error = await rejection(new VisorClient({ url: `http://127.0.0.1:${await closedPort()}`, retries: 0 }).list());
  t.is(error.code, 'transport');
  t.is(error.status, undefined);
});

/** A port nothing listens on: bind, note the port, release it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

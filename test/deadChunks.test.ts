import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { releaseDeadChunks } from '../src/heap/DeadChunks.ts';
import { hashedCopy } from '../src/image-files/HashedCopy.ts';
import { youngGenerationSize } from './helpers/heap.ts';

/** Allocates ~10 MB of small objects that all survive, as a busy daemon's requests might. */
function survivors(kept: unknown[]): void {
  for (let i = 0; i < 100_000; i++) kept.push({ id: `object-${kept.length}`, at: new Date(i).toISOString(), n: i });
}

// Serial, so before the concurrent tests below, and first: the young generation only grows.
test.serial('while a copy runs, survivors do not grow the young generation; once it is over, they do again', async (t) => {
  const kept: unknown[] = [];
  const before = youngGenerationSize();
  // Each of the body's chunks comes with survivors that would grow the young generation unheld.
  async function* body(): AsyncGenerator<Buffer> {
    for (let i = 0; i < 6; i++) {
      survivors(kept);
      yield randomBytes(64 << 10);
    }
  }
  const copied = await hashedCopy(Readable.from(body()), new Writable({ write: (_c, _e, done) => done() }), 'sha256', Number.MAX_SAFE_INTEGER);
  t.is(copied.bytes, 6 * (64 << 10));
  t.true(youngGenerationSize() <= before, `${youngGenerationSize()} > ${before} during the copy`);
  for (let i = 0; i < 6; i++) survivors(kept);
  t.true(youngGenerationSize() > before, `${youngGenerationSize()} <= ${before} after the copy`);
  t.is(kept.length, 1_200_000);
});

test('freeing dead chunks scavenges without exposing gc to the process', (t) => {
  t.notThrows(() => releaseDeadChunks());
  t.notThrows(() => releaseDeadChunks());
  t.is((globalThis as { gc?: unknown }).gc, undefined);
});

test('a copy long enough to free chunks on the way still passes every byte, in order', async (t) => {
  const chunks = Array.from({ length: 40 }, () => randomBytes(1 << 20));
  const seen = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, done) {
      seen.update(chunk);
      bytes += chunk.length;
      done();
    },
  });
  const copied = await hashedCopy(Readable.from(chunks), sink, 'sha256', Number.MAX_SAFE_INTEGER);
  const expected = createHash('sha256');
  for (const c of chunks) expected.update(c);
  const digest = expected.digest('hex');
  t.is(copied.bytes, 40 << 20);
  t.is(copied.checksum, `sha256:${digest}`);
  t.is(bytes, 40 << 20);
  t.is(seen.digest('hex'), digest);
});

import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { releaseDeadChunks } from '../src/image-files/DeadChunks.ts';
import { hashedCopy } from '../src/image-files/HashedCopy.ts';

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

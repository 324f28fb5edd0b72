import test from 'ava';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashedCopy } from '../src/image-files/HashedCopy.ts';

// The copy under every upload and every copy between stores: whatever either end does, it ends.
// (Through real stores and a dying relay: transfer.storeFailure.test.ts.)

const BOUND_MS = 5000;

/** The copy's outcome, or 'hung' if it has none within the bound. */
async function outcome(copy: Promise<unknown>): Promise<string> {
  const settled = copy.then(
    () => 'done',
    (e: Error) => {
      const code = (e as NodeJS.ErrnoException).code;
      return `failed: ${typeof code === 'string' ? code : e.name === 'Error' ? e.message : e.name}`;
    },
  );
  return Promise.race([settled, sleep(BOUND_MS, 'hung', { ref: false })]);
}

/** A sink that takes one chunk and then never calls back: the copy must wait on its drain. */
function stalledSink(): Writable {
  return new Writable({ highWaterMark: 1, write: () => undefined });
}

test('a sink destroyed without an error while the copy waits for its drain ends the copy', async (t) => {
  const body = new PassThrough();
  const sink = stalledSink();
  const copy = hashedCopy(body, sink, 'sha256', 1 << 30);
  body.write(Buffer.alloc(1024));
  await sleep(20);
  sink.destroy();
  t.is(await outcome(copy), 'failed: ERR_STREAM_PREMATURE_CLOSE');
});

test('a sink that fails while the copy waits for the body ends the copy with the sink\'s error, blamed as the caller says', async (t) => {
  const body = new PassThrough();
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  const copy = hashedCopy(body, sink, 'sha256', 1 << 30, { blame: { sink: (e) => new Error(`the store failed: ${(e as Error).message}`) } });
  body.write(Buffer.alloc(1024));
  await sleep(20);
  sink.destroy(new Error('reset'));
  t.is(await outcome(copy), 'failed: the store failed: reset');
  t.true(body.destroyed, 'the source is destroyed with a failed copy');
});

test('a body that closes before its end ends the copy; an upload\'s body is kept open for its answer', async (t) => {
  const body = new PassThrough();
  const copy = hashedCopy(body, stalledSink(), 'sha256', 1 << 30);
  body.destroy();
  t.is(await outcome(copy), 'failed: ERR_STREAM_PREMATURE_CLOSE');

  const request = new PassThrough();
  const sink = stalledSink();
  const upload = hashedCopy(request, sink, 'sha256', 1 << 30, { keepSource: true });
  request.write(Buffer.alloc(1024));
  await sleep(20);
  sink.destroy(new Error('reset'));
  t.is(await outcome(upload), 'failed: reset');
  t.false(request.destroyed, 'the request outlives the failure: its answer is still to be sent');
});

test('the signal ends a copy stuck on both ends', async (t) => {
  const controller = new AbortController();
  const copy = hashedCopy(new PassThrough(), stalledSink(), 'sha256', 1 << 30, { signal: controller.signal });
  await sleep(20);
  controller.abort();
  t.is(await outcome(copy), 'failed: AbortError');
});

test('a copy that goes well passes every byte and its digest, and leaves no listener behind', async (t) => {
  const body = new PassThrough();
  const received: Buffer[] = [];
  const sink = new Writable({ highWaterMark: 64, write: (c: Buffer, _e, cb) => (received.push(c), setImmediate(cb)) });
  const copy = hashedCopy(body, sink, 'sha256', 1 << 30);
  for (let i = 0; i < 200; i++) body.write(Buffer.alloc(1000, i));
  body.end();
  const result = await copy;
  t.is(result.bytes, 200_000);
  t.is(Buffer.concat(received).length, 200_000);
  t.regex(result.checksum, /^sha256:[0-9a-f]{64}$/);
  for (const event of ['drain', 'error', 'close', 'finish']) t.is(sink.listenerCount(event), 0, `no ${event} listener is left on the sink`);
  for (const event of ['error', 'close', 'end']) t.is(body.listenerCount(event), 0, `no ${event} listener is left on the body`);
});

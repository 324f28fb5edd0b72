import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ByteRange } from '../ImageStore.ts';

/**
 * The asked-for range of an HTTP answer: the body itself for a 206 (or no range), else the 200 body
 * cut down here, for servers that ignore Range.
 */
export function rangeOf(opened: { status: number; stream: Readable }, range: ByteRange | undefined): Readable {
  if (!range || opened.status === 206) return opened.stream;
  const cut = new ByteWindow(range.start, range.end - range.start + 1);
  // Any end of the answer before the window is full fails the window: an error, and a connection
  // closed without one too (a pipe() would leave the reader waiting for an end that never comes).
  finished(opened.stream, (e) => {
    if (e && !cut.complete) cut.destroy(e);
  });
  cut.on('close', () => {
    if (!opened.stream.readableEnded) opened.stream.destroy();
  });
  return opened.stream.pipe(cut);
}

/** Passes through `length` bytes after skipping `skip`, then ends. */
class ByteWindow extends Transform {
  private skip: number;
  private left: number;
  private done = false;

  /** All the window's bytes have passed. */
  get complete(): boolean {
    return this.done;
  }

  constructor(skip: number, length: number) {
    super();
    this.skip = skip;
    this.left = length;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let piece = chunk;
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, piece.length);
      this.skip -= dropped;
      piece = piece.subarray(dropped);
    }
    if (this.left > 0 && piece.length > 0) {
      const kept = piece.subarray(0, this.left);
      this.left -= kept.length;
      this.push(kept);
    }
    if (this.left === 0 && !this.done) {
      this.done = true;
      this.push(null);
    }
    callback();
  }
}

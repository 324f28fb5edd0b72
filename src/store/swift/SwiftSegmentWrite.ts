import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { StoreWriteStream } from '../remote/StoreWriteStream.ts';
import type { HttpAnswer } from '../remote/HttpExchange.ts';
import { partSizeFor } from '../remote/partSize.ts';
import { abortError, storeFailure } from '../storeErrors.ts';
import type { SwiftConnection } from './SwiftConnection.ts';

export interface SwiftWriteTarget {
  connection: SwiftConnection;
  container: string;
  segmentContainer: string;
  /** Full object name (store prefix included). */
  objectName: string;
  segmentSize: number;
  maxSegments: number;
  expectedSize?: number;
  signal?: AbortSignal;
  /** Creates the containers on first use. */
  ready: () => Promise<void>;
  /** Removes the segments of an earlier version once a new manifest replaced it. */
  dropSegments: (paths: string[]) => Promise<void>;
}

interface Segment {
  path: string;
  etag: string | null;
  size_bytes: number;
}

/** Names a write's segments: <object>/<write id>/<sequence>. The id starts with the time, for gc. */
export function newWriteId(): string {
  return `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/**
 * Bytes in, a Swift static large object (SLO) out. Each segment is streamed straight into its own PUT
 * (memory stays at a socket buffer, whatever the segment size), and the manifest that makes the object
 * visible is written only by commit(). Segments cannot be retried (their bytes are gone), so a failed
 * segment fails the write; the token is renewed before each segment instead.
 */
export class SwiftSegmentWrite extends StoreWriteStream {
  readonly writeId = newWriteId();
  private readonly t: SwiftWriteTarget;
  private readonly segments: Segment[] = [];
  private current: { name: string; stream: Writable; answer: Promise<HttpAnswer>; bytes: number; limit: number } | undefined;
  private settled = false;
  /** Every segment begun, with its answer: abort() waits for them all and removes them all. */
  private readonly begun: Array<{ path: string; answer: Promise<HttpAnswer> }> = [];

  constructor(target: SwiftWriteTarget) {
    super(target.signal);
    this.t = target;
  }

  /** Segment names relative to the segment container: <object>/<write id>/<8-digit sequence>. */
  private segmentName(n: number): string {
    return `${this.t.objectName}/${this.writeId}/${String(n).padStart(8, '0')}`;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    (this.current ? this.endSegment() : Promise.resolve()).then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.current?.stream.destroy();
    callback(error);
  }

  private async take(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.settled) throw abortError(this.t.signal);
      const segment = this.current ?? (await this.beginSegment());
      const piece = chunk.subarray(offset, offset + (segment.limit - segment.bytes));
      segment.bytes += piece.length;
      offset += piece.length;
      // Done only once the socket took the bytes: callers (the upload hasher) reuse their buffers
      // after the callback. Swift answering before the end is an error.
      const early = segment.answer.then((a) => {
        throw this.t.connection.unexpected(`upload of segment ${segment.name}`, a);
      });
      early.catch(() => undefined);
      await Promise.race([new Promise<void>((resolve, reject) => segment.stream.write(piece, (e) => (e ? reject(e) : resolve()))), early]);
      if (segment.bytes === segment.limit) await this.endSegment();
    }
  }

  private async beginSegment(): Promise<NonNullable<SwiftSegmentWrite['current']>> {
    if (this.segments.length === 0) await this.t.ready();
    const n = this.segments.length + 1;
    if (n > this.t.maxSegments) throw storeFailure(this.t.connection.store, `upload of ${this.t.objectName}`, `more than ${this.t.maxSegments} segments; raise segment_size`);
    const name = this.segmentName(n);
    const { stream, answer } = await this.t.connection.upload(this.t.segmentContainer, name, { operation: `upload of segment ${name}`, headers: { 'content-type': 'application/octet-stream' } });
    if (this.settled) {
      // Aborted while the token was renewed: no byte was sent, so nothing is stored.
      stream.destroy();
      throw abortError(this.t.signal);
    }
    this.begun.push({ path: `/${this.t.segmentContainer}/${name}`, answer });
    this.current = { name, stream, answer, bytes: 0, limit: partSizeFor(n, this.t.segmentSize, this.t.maxSegments, this.t.expectedSize) };
    return this.current;
  }

  private async endSegment(): Promise<void> {
    const segment = this.current!;
    this.current = undefined;
    segment.stream.end();
    const answer = await segment.answer;
    if (answer.status !== 201) throw this.t.connection.unexpected(`upload of segment ${segment.name}`, answer);
    const etag = answer.headers['etag'];
    this.segments.push({ path: `/${this.t.segmentContainer}/${segment.name}`, etag: typeof etag === 'string' ? etag.replace(/"/g, '') : null, size_bytes: segment.bytes });
  }

  async commit(): Promise<void> {
    if (this.settled) throw new Error('write already settled');
    this.t.signal?.throwIfAborted();
    if (!this.writableFinished) await finished(this);
    this.settled = true;
    const c = this.t.connection;
    try {
      if (this.segments.length === 0) {
        await this.t.ready();
        const put = await c.call('PUT', this.t.container, this.t.objectName, { operation: `publishing ${this.t.objectName}`, body: Buffer.alloc(0), headers: { 'content-type': 'application/octet-stream' } });
        if (put.status !== 201) throw c.unexpected(`publishing ${this.t.objectName}`, put);
        await this.t.dropSegments(await this.previousSegments());
        return;
      }
      const previous = await this.previousSegments();
      const manifest = JSON.stringify(this.segments);
      const put = await c.call('PUT', this.t.container, this.t.objectName, { operation: `publishing ${this.t.objectName}`, query: 'multipart-manifest=put', body: manifest, headers: { 'content-type': 'application/octet-stream' } });
      if (put.status !== 201) throw c.unexpected(`publishing ${this.t.objectName}`, put);
      // Swift keeps a replaced manifest's segments: remove them, or they would stay forever.
      await this.t.dropSegments(previous);
    } catch (e) {
      await this.t.dropSegments(this.segments.map((s) => s.path)).catch(() => undefined);
      throw e;
    }
  }

  /** Segment paths of the manifest currently under this name, if it is one. */
  private async previousSegments(): Promise<string[]> {
    const c = this.t.connection;
    // HEAD first: a GET of a plain object would bring its bytes, not a manifest.
    const head = await c.call('HEAD', this.t.container, this.t.objectName, { operation: `stat of ${this.t.objectName}` });
    if (head.status !== 200 || String(head.headers['x-static-large-object']).toLowerCase() !== 'true') return [];
    const got = await c.call('GET', this.t.container, this.t.objectName, { operation: `reading the manifest of ${this.t.objectName}`, query: 'multipart-manifest=get&format=raw' });
    if (got.status !== 200) return [];
    try {
      return (JSON.parse(got.body.toString('utf8')) as Array<{ path?: string; name?: string }>).map((s) => (s.path ?? s.name)!).filter(Boolean);
    } catch {
      return [];
    }
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    if (!this.destroyed) this.destroy();
    this.current?.stream.destroy();
    this.current = undefined;
    await Promise.allSettled(this.begun.map((b) => b.answer));
    // Best effort: segments left behind are found and removed by `visor store gc`.
    await this.t.dropSegments(this.begun.map((b) => b.path)).catch(() => undefined);
  }
}

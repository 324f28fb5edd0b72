import { finished } from 'node:stream/promises';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type S3Client } from '@aws-sdk/client-s3';
import { StoreWriteStream } from '../remote/StoreWriteStream.ts';
import { partSizeFor } from '../remote/partSize.ts';
import { abortError, storeFailure } from '../storeErrors.ts';
import { s3Failure } from './s3Failure.ts';

export interface S3WriteTarget {
  client: S3Client;
  store: { name: string; type: string };
  bucket: string;
  /** Full object key (store prefix included). */
  objectKey: string;
  partSize: number;
  maxParts: number;
  parallelParts: number;
  expectedSize?: number;
  signal?: AbortSignal;
}

/**
 * Bytes in, S3 multipart upload out. Parts are filled in memory and sent several at a time, so memory
 * is bounded by part size × (parallel parts + 1); each part is a buffer, so the SDK can retry it. An
 * object smaller than one part is kept until commit and sent with one PutObject; a larger one is
 * completed (made visible) only by commit.
 */
export class S3MultipartWrite extends StoreWriteStream {
  private readonly t: S3WriteTarget;
  private buffer: Buffer | undefined;
  private filled = 0;
  private uploadId: string | undefined;
  private dispatched = 0;
  private readonly parts: Array<{ PartNumber: number; ETag: string }> = [];
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private creating: Promise<{ UploadId?: string | undefined }> | undefined;
  private readonly discards: Promise<void>[] = [];
  private settled = false;
  private readonly controller = new AbortController();

  constructor(target: S3WriteTarget) {
    super(target.signal);
    this.t = target;
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finish().then(() => callback(), callback);
  }

  private async take(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const size = partSizeFor(this.dispatched + 1, this.t.partSize, this.t.maxParts, this.t.expectedSize);
      this.buffer ??= Buffer.allocUnsafe(size);
      const n = chunk.copy(this.buffer, this.filled, offset);
      this.filled += n;
      offset += n;
      if (this.filled === this.buffer.length) await this.sendPart();
    }
  }

  private async finish(): Promise<void> {
    // Without an upload, the whole object is in the buffer: commit() sends it with PutObject.
    if (this.uploadId === undefined) return;
    if (this.filled > 0) await this.sendPart();
    await Promise.all(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Sends the filled buffer as the next part, waiting first while too many parts are on their way. */
  private async sendPart(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.settled) throw abortError(this.t.signal);
    if (this.uploadId === undefined) {
      // Not cancelled by the signal: an upload the store created must be known, so abort() can remove it.
      this.creating = this.t.client.send(new CreateMultipartUploadCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, ContentType: 'application/octet-stream' }));
      try {
        this.uploadId = (await this.creating).UploadId;
      } catch (e) {
        throw s3Failure(this.t.store, `starting a multipart upload of ${this.t.objectKey}`, e);
      } finally {
        this.creating = undefined;
      }
    }
    // Aborted while the upload was being created: it must not outlive this write.
    if (this.settled) {
      await this.discard();
      throw abortError(this.t.signal);
    }
    const partNumber = ++this.dispatched;
    if (partNumber > this.t.maxParts) throw storeFailure(this.t.store, `upload of ${this.t.objectKey}`, `more than ${this.t.maxParts} parts; raise part_size`);
    const body = this.buffer!.subarray(0, this.filled);
    this.buffer = undefined;
    this.filled = 0;
    const sending: Promise<void> = this.t.client
      .send(new UploadPartCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, UploadId: this.uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }), { abortSignal: this.signal })
      .then(
        (r) => {
          this.parts.push({ PartNumber: partNumber, ETag: r.ETag! });
        },
        (e: unknown) => {
          this.failure ??= s3Failure(this.t.store, `upload of part ${partNumber} of ${this.t.objectKey}`, e);
        },
      )
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
    while (this.inFlight.size >= this.t.parallelParts) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  async commit(): Promise<void> {
    if (this.settled) throw new Error('write already settled');
    this.t.signal?.throwIfAborted();
    if (!this.writableFinished) await finished(this);
    this.settled = true;
    if (this.failure) throw this.failure;
    try {
      if (this.uploadId === undefined) {
        const body = this.buffer?.subarray(0, this.filled) ?? Buffer.alloc(0);
        await this.t.client.send(new PutObjectCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, Body: body, ContentLength: body.length, ContentType: 'application/octet-stream' }));
        this.buffer = undefined;
        return;
      }
      const parts = [...this.parts].sort((a, b) => a.PartNumber - b.PartNumber);
      await this.t.client.send(new CompleteMultipartUploadCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, UploadId: this.uploadId, MultipartUpload: { Parts: parts } }));
    } catch (e) {
      await this.discard();
      throw s3Failure(this.t.store, `publishing ${this.t.objectKey}`, e);
    }
  }

  async abort(): Promise<void> {
    if (this.settled) return;
    this.settled = true;
    this.buffer = undefined;
    this.controller.abort();
    if (!this.destroyed) this.destroy();
    await Promise.allSettled([...this.inFlight, this.creating]);
    await this.discard();
  }

  /** Aborts the upload on the store; every caller waits for every abort in progress, whoever started it. */
  private async discard(): Promise<void> {
    if (this.uploadId !== undefined) {
      const uploadId = this.uploadId;
      this.uploadId = undefined;
      // Best effort: an upload the store still holds is found and removed by `visor store gc`.
      this.discards.push(this.t.client.send(new AbortMultipartUploadCommand({ Bucket: this.t.bucket, Key: this.t.objectKey, UploadId: uploadId })).then(() => undefined, () => undefined));
    }
    await Promise.all(this.discards);
  }
}

import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { ByteRange, IncompleteWrite, ObjectStat, StoreAdapter, StoreWrite, WriteOptions } from '../ImageStore.ts';
import { abortError, objectNotFound } from '../storeErrors.ts';
import { isS3NotFound, s3Failure } from './s3Failure.ts';
import { S3MultipartWrite } from './S3MultipartWrite.ts';

export interface S3StoreOptions {
  name: string;
  bucket: string;
  /** Prepended to every key, so several VISORs (or other data) can share a bucket. */
  prefix: string;
  region: string;
  /** S3-compatible services (Ceph RGW, Swift s3api, MinIO, Walrus…); AWS when absent. */
  endpoint?: string;
  forcePathStyle: boolean;
  /** Absent: the SDK's default chain (AWS_* environment, shared files, instance roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  partSize: number;
  parallelParts: number;
  /** The service's part limit: 10,000 on AWS, s3api's max_upload_part_num (1,000) on Swift. */
  maxParts: number;
  timeoutMs: number;
  retries: number;
}

/** Images as objects in an S3 bucket, through @aws-sdk/client-s3, with multipart uploads for large ones. */
export class S3Store implements StoreAdapter {
  readonly name: string;
  readonly type = 's3';
  readonly writable = true;
  private readonly o: S3StoreOptions;
  private readonly client: S3Client;

  constructor(options: S3StoreOptions) {
    this.name = options.name;
    this.o = options;
    const agent = { keepAlive: true, maxSockets: Math.max(16, options.parallelParts * 4) };
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // S3-compatible servers (s3api among them) refuse aws-chunked bodies with trailing checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The SDK retries with backoff only what it can replay (our parts are buffers) and only transient failures.
      maxAttempts: options.retries + 1,
      // timeout_ms is an idle time (socketTimeout): the SDK's requestTimeout only logs a warning unless
      // told to throw, and a whole-request limit would cut a slow but moving part. Without it, a store
      // that stops answering without closing (a black hole) holds a transfer forever.
      requestHandler: { connectionTimeout: Math.min(10_000, options.timeoutMs), socketTimeout: options.timeoutMs, httpAgent: new HttpAgent(agent), httpsAgent: new HttpsAgent(agent) },
    });
  }

  private objectKey(key: string): string {
    return this.o.prefix + key;
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: this.objectKey(key) }));
      return { key, size: head.ContentLength ?? 0, ...(head.LastModified ? { modified: head.LastModified } : {}) };
    } catch (e) {
      if (isS3NotFound(e)) return undefined;
      throw this.failure(`stat of ${key}`, e);
    }
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const objectKey = this.objectKey(key);
    try {
      const got = await this.client.send(new GetObjectCommand({ Bucket: this.o.bucket, Key: objectKey, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }), signal ? { abortSignal: signal } : {});
      const body = got.Body as Readable;
      signal?.addEventListener('abort', () => body.destroy(abortError(signal)), { once: true });
      return body;
    } catch (e) {
      if (isS3NotFound(e)) throw objectNotFound(this, key);
      if (signal?.aborted) throw abortError(signal);
      throw this.failure(`read of ${key}`, e);
    }
  }

  async write(key: string, options: WriteOptions = {}): Promise<StoreWrite> {
    return new S3MultipartWrite({
      client: this.client,
      store: this,
      bucket: this.o.bucket,
      objectKey: this.objectKey(key),
      partSize: this.o.partSize,
      maxParts: this.o.maxParts,
      parallelParts: this.o.parallelParts,
      ...(options.expectedSize !== undefined ? { expectedSize: options.expectedSize } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.o.bucket, Key: this.objectKey(key) }));
    } catch (e) {
      if (!isS3NotFound(e)) throw this.failure(`delete of ${key}`, e);
    }
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.o.bucket, Prefix: this.o.prefix + prefix, ...(token ? { ContinuationToken: token } : {}) }));
      } catch (e) {
        throw this.failure('listing', e);
      }
      for (const o of page.Contents ?? []) {
        const key = o.Key!.slice(this.o.prefix.length);
        if (key.startsWith('.')) continue;
        yield { key, size: o.Size ?? 0, ...(o.LastModified ? { modified: o.LastModified } : {}) };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.o.bucket, Prefix: this.o.prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}) }));
      } catch (e) {
        throw this.failure('listing multipart uploads', e);
      }
      for (const u of page.Uploads ?? []) {
        if (u.Key!.startsWith(`${this.o.prefix}.`)) continue;
        yield { key: u.Key!.slice(this.o.prefix.length), id: u.UploadId!, ...(u.Initiated ? { started: u.Initiated } : {}) };
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  async discardIncomplete(write: IncompleteWrite): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.o.bucket, Key: this.o.prefix + write.key, UploadId: write.id }));
    } catch (e) {
      if (!isS3NotFound(e)) throw this.failure(`abort of multipart upload ${write.id}`, e);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private failure(operation: string, e: unknown) {
    return s3Failure(this, operation, e);
  }
}

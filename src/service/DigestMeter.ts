import { Transform, type TransformCallback } from 'node:stream';
import { createHash, type Hash } from 'node:crypto';
import { tooLarge } from '../errors/VisorError.ts';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';

/** Passes bytes through while hashing and counting them, and stops the stream past a size limit. */
export class DigestMeter extends Transform {
  readonly algorithm: DigestAlgorithm;
  bytes = 0;
  private readonly hash: Hash;
  private readonly limit: number;

  constructor(algorithm: DigestAlgorithm, limit: number) {
    super();
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
    this.limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      callback(tooLarge(`upload exceeds the limit of ${this.limit} bytes`));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** The multihash-style digest: "<algorithm>:<hex>". Call once, after the stream ended. */
  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

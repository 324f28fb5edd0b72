import { createHash, type Hash } from 'node:crypto';

export const DIGEST_ALGORITHMS = ['sha256', 'sha512'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** A parsed "<algorithm>:<lowercase hex>" checksum, the form the catalogue records. */
export interface Checksum {
  algorithm: DigestAlgorithm;
  hex: string;
}

const CHECKSUM_PATTERN = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

export function parseChecksum(text: string | undefined): Checksum | undefined {
  if (text === undefined || !CHECKSUM_PATTERN.test(text)) return undefined;
  const [algorithm, hex] = text.split(':') as [DigestAlgorithm, string];
  return { algorithm, hex };
}

export function formatChecksum(checksum: Checksum): string {
  return `${checksum.algorithm}:${checksum.hex}`;
}

/** Hashes and counts bytes as they stream past, so a download is verified without reading it twice. */
export class StreamDigest {
  readonly algorithm: DigestAlgorithm;
  bytes = 0;
  private readonly hash: Hash;

  constructor(algorithm: DigestAlgorithm) {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  /** A pipeline stage that passes chunks through unchanged while digesting them. */
  stage(): (source: AsyncIterable<Buffer>) => AsyncGenerator<Buffer> {
    return (source) => this.digesting(source);
  }

  private async *digesting(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      yield chunk;
    }
  }

  result(): Checksum {
    return { algorithm: this.algorithm, hex: this.hash.digest('hex') };
  }
}

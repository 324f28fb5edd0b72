import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { IncomingMessage } from 'node:http';
import type { Got } from 'got';
import type { ImageView } from '../api/ImageRecord.ts';
import { formatChecksum, parseChecksum, StreamDigest } from './Checksum.ts';
import type { TransferProgress } from './uploadImageFile.ts';
import { ChecksumMismatchError, VisorClientError } from './VisorClientError.ts';

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (as in HTTP Range). */
  end: number;
}

export interface DownloadOptions {
  /** Fetch only these bytes (HTTP 206). A part cannot be checked against the image's digest, so it is not verified. */
  range?: ByteRange;
  /** Check the bytes against the image's recorded checksum while streaming (default true). */
  verify?: boolean;
  /** The digest the bytes must have instead of the record's ("<alg>:<hex>"): the one a trust policy was judged for. */
  checksum?: string;
  onProgress?: TransferProgress;
}

export interface DownloadResult {
  image: ImageView;
  bytes: number;
  /** "<alg>:<hex>" of the bytes received, with the algorithm of the image's checksum. */
  checksum: string;
}

/**
 * GET /images/:id/file into a path or a stream. A path receives the bytes in a temporary file beside it,
 * renamed into place only once the digest matches, so a failed or corrupt download never leaves a file
 * that looks complete. A caller's stream has already received the bytes when a mismatch is detected; the
 * error tells the caller to discard them.
 */
export async function downloadImageFile(
  http: Got,
  url: string,
  image: ImageView,
  destination: string | Writable,
  options: DownloadOptions,
): Promise<DownloadResult> {
  const { range, onProgress } = options;
  const request = http.stream(url, {
    headers: range ? { range: `bytes=${range.start}-${range.end}` } : {},
    throwHttpErrors: false,
    // Image bytes are opaque: never let a Content-Encoding change what is written or digested.
    decompress: false,
    // A retried got stream is a new stream the caller must pick up; a failed download is simply reported.
    retry: { limit: 0 },
  });
  let response: IncomingMessage;
  try {
    [response] = (await once(request, 'response')) as [IncomingMessage];
  } catch (error) {
    throw VisorClientError.fromTransportFailure(error, url);
  }
  const status = response.statusCode ?? 0;
  if (status >= 400) {
    throw VisorClientError.fromResponse(status, await readText(request), response.statusMessage);
  }

  // A daemon may ignore Range and send everything (200); then the whole file can and must be verified.
  const whole = status !== 206;
  const expected = options.checksum ?? image.checksum;
  const recorded = parseChecksum(expected);
  const verifying = (options.verify ?? true) && whole;
  if (verifying && !recorded) {
    request.destroy();
    throw new VisorClientError(`image ${image.id} has no checksum to verify the download against`, {
      code: 'no_checksum',
    });
  }
  const digest = new StreamDigest(recorded?.algorithm ?? 'sha256');
  if (onProgress) request.on('downloadProgress', (p) => onProgress(p.transferred, p.total));

  const verify = (): string => {
    const actual = formatChecksum(digest.result());
    if (verifying && expected !== actual) throw new ChecksumMismatchError(image.id, String(expected), actual);
    return actual;
  };

  try {
    if (typeof destination !== 'string') {
      await pipeline(request, digest.stage(), destination);
      return { image, bytes: digest.bytes, checksum: verify() };
    }
    const partial = temporaryPathBeside(destination);
    try {
      await pipeline(request, digest.stage(), createWriteStream(partial, { flags: 'wx' }));
      const checksum = verify();
      await rename(partial, destination);
      return { image, bytes: digest.bytes, checksum };
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  } catch (error) {
    throw VisorClientError.fromTransportFailure(error, url);
  }
}

/** Same directory, so the final rename is atomic and never crosses file systems. */
function temporaryPathBeside(destination: string): string {
  return join(dirname(destination), `.${basename(destination)}.${randomBytes(4).toString('hex')}.part`);
}

async function readText(stream: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

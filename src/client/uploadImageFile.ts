import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Got } from 'got';
import type { ImageView } from '../api/ImageRecord.ts';
import type { DigestAlgorithm } from './Checksum.ts';
import { VisorClientError } from './VisorClientError.ts';

export type TransferProgress = (transferred: number, total: number | undefined) => void;

export interface UploadOptions {
  /** Digest the daemon computes and records (default: the daemon's choice). */
  algorithm?: DigestAlgorithm;
  /** Expected "<alg>:<hex>"; the daemon rejects the upload (400) and marks the image error on mismatch. */
  checksum?: string;
  /** Bytes the stream will deliver, sent as Content-Length; a file path's size is found by stat. */
  size?: number;
  onProgress?: TransferProgress;
}

/** PUT /images/:id/file, streaming the source: a file is never read into memory. */
export async function uploadImageFile(
  http: Got,
  url: string,
  source: string | NodeJS.ReadableStream,
  options: UploadOptions,
): Promise<ImageView> {
  const size = typeof source === 'string' ? (await stat(source)).size : options.size;
  const body = typeof source === 'string' ? createReadStream(source) : asReadable(source);
  const searchParams = new URLSearchParams();
  if (options.algorithm !== undefined) searchParams.set('algorithm', options.algorithm);
  if (options.checksum !== undefined) searchParams.set('checksum', options.checksum);
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (size !== undefined) headers['content-length'] = String(size);

  const request = http(url, {
    method: 'PUT',
    body,
    headers,
    searchParams,
    responseType: 'text',
    throwHttpErrors: false,
    // A consumed stream cannot be sent again, so never retry an upload.
    retry: { limit: 0 },
  });
  const { onProgress } = options;
  if (onProgress) request.on('uploadProgress', (p) => onProgress(p.transferred, p.total ?? size));
  try {
    const response = await request;
    if (response.statusCode >= 400) {
      throw VisorClientError.fromResponse(response.statusCode, response.body, response.statusMessage);
    }
    return JSON.parse(response.body) as ImageView;
  } catch (error) {
    throw VisorClientError.fromTransportFailure(error, url);
  } finally {
    // Release the file handle if the daemon answered before reading everything.
    if (typeof source === 'string') body.destroy();
  }
}

function asReadable(source: NodeJS.ReadableStream): Readable {
  return source instanceof Readable ? source : new Readable().wrap(source);
}

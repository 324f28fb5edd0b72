import type { Context } from 'koa';
import type { ByteSource } from '../src/image-files/ImageBytes.ts';
import type { Download } from '../src/image-files/ImageDownloads.ts';
import { sendPositional } from './positionalSender.ts';

/**
 * Sends a prepared download once its route has set the headers of its own edge (VISOR's ETag and
 * digests, Glance's Content-MD5): 200 or 206 with Content-Range, Content-Length, then the bytes
 * (none for HEAD), through the positional ring sender where the store offers a reader, else piped.
 * `opened` sees the source and the length to be sent, before any byte is.
 */
export async function sendDownload(ctx: Context, download: Download, opened?: (source: ByteSource, length: number) => void): Promise<void> {
  const { size, range } = download;
  ctx.status = range ? 206 : 200;
  if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
  const length = range ? range.end - range.start + 1 : size;
  ctx.length = length;
  if (ctx.method === 'HEAD') return;
  const source = await download.open({ positional: true });
  opened?.(source, length);
  if (source.kind === 'positional') {
    // Koa steps aside: the ring sender writes the body itself.
    ctx.respond = false;
    ctx.res.writeHead(ctx.status, ctx.response.headers as Record<string, string>);
    await sendPositional(ctx.res, source.reader, range ? range.start : 0, length);
    return;
  }
  ctx.body = source.stream;
}

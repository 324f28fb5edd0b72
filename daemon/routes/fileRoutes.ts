import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import type { QueryParams } from '../../src/catalog/ImageQuery.ts';
import type { ImageViews } from '../../src/images/ImageViews.ts';
import type { ImageCopier } from '../../src/image-files/ImageCopier.ts';
import type { WebDownloads } from '../../src/image-files/WebDownloads.ts';
import type { ImageDownloads } from '../../src/image-files/ImageDownloads.ts';
import type { ImageInspections } from '../../src/image-files/ImageInspections.ts';
import type { ImageLinker, LinkRequest } from '../../src/image-files/ImageLinker.ts';
import type { ImageUploads } from '../../src/image-files/ImageUploads.ts';
import type { ImageScans } from '../../src/scanning/ImageScans.ts';
import { assertSignedIn } from '../../src/auth/callerRules.ts';
import { jsonBody, objectBody } from '../jsonBody.ts';
import { pickRange } from '../rangeHeader.ts';
import { sendDownload } from '../downloadSender.ts';
import { declaredLength } from '../declaredLength.ts';
import type { ServerResponse } from 'node:http';
import type { ServiceMetrics } from '../../src/tracking/ServiceMetrics.ts';
import { on, principal } from '../route.ts';

export interface FileServices {
  views: ImageViews;
  uploads: ImageUploads;
  downloads: ImageDownloads;
  copier: ImageCopier;
  webDownloads: WebDownloads;
  linker: ImageLinker;
  inspections: ImageInspections;
  scans: ImageScans;
  /** Counts image bytes in and out by store. */
  metrics: ServiceMetrics;
}

/** Digest header value (RFC 9530) from a "<alg>:<hex>" checksum. */
function reprDigest(checksum: string): string {
  const [alg, hex] = checksum.split(':') as [string, string];
  return `${alg === 'sha512' ? 'sha-512' : 'sha-256'}=:${Buffer.from(hex, 'hex').toString('base64')}:`;
}

/** Images' files: upload, download (whole or a range), copy or move between stores, register an object already in a store, inspect, scan, release from quarantine. */
export function fileRoutes(router: Router, s: FileServices, maxJsonBytes: number): void {
  const json = jsonBody(maxJsonBytes, assertSignedIn);

  on(router, ROUTES.uploadFile, async (ctx) => {
    const length = declaredLength(ctx);
    const q = ctx.query as QueryParams;
    const options = {
      ...(typeof q['algorithm'] === 'string' ? { algorithm: q['algorithm'] } : {}),
      ...(typeof q['checksum'] === 'string' ? { checksum: q['checksum'] } : {}),
      ...(length !== undefined ? { length } : {}),
    };
    const r = await s.uploads.upload(ctx.params['id']!, ctx.req, options, principal(ctx));
    const stored = r.locations?.[0]?.store;
    if (stored !== undefined && r.size !== undefined) s.metrics.storeTransfer(stored, 'in', r.size);
    ctx.set('ETag', s.views.etag(r));
    ctx.type = 'application/json';
    ctx.body = s.views.viewJson(r);
  });

  on(router, ROUTES.downloadFile, async (ctx) => {
    const download = s.downloads.prepare(ctx.params['id']!, principal(ctx), (size, checksum) =>
      pickRange(ctx.get('range') || undefined, size, ctx.get('if-range') || undefined, `"${checksum}"`),
    );
    const { image } = download;
    const etag = `"${image.checksum!}"`;
    ctx.set('ETag', etag);
    ctx.set('Accept-Ranges', 'bytes');
    ctx.set('Repr-Digest', reprDigest(image.checksum!));
    ctx.set('Last-Modified', new Date(image.uploaded_at!).toUTCString());
    ctx.set('Content-Disposition', `attachment; filename="${image.id}"`);
    ctx.type = 'application/octet-stream';
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    await sendDownload(ctx, download, (source, length) => countBytesOut(ctx.res, s.metrics, source.location.store, length));
  });

  on(router, ROUTES.copyImage, json, async (ctx) => {
    const b = objectBody(ctx);
    const controller = new AbortController();
    // A client that gives up stops the copy: nothing is published, and a re-run starts clean.
    ctx.req.once('close', () => {
      if (!ctx.res.writableEnded) controller.abort();
    });
    const record = await s.copier.copy(ctx.params['id']!, { to: b['to'] as string, ...(b['move'] !== undefined ? { move: b['move'] as boolean } : {}), signal: controller.signal }, principal(ctx));
    ctx.body = s.views.view(record);
  });

  on(router, ROUTES.linkImage, json, async (ctx) => {
    const record = await s.linker.link(ctx.params['id']!, objectBody(ctx) as LinkRequest, principal(ctx));
    ctx.body = s.views.view(record);
  });

  on(router, ROUTES.inspectImage, async (ctx) => {
    const record = await s.inspections.inspect(ctx.params['id']!, principal(ctx));
    ctx.body = s.views.view(record);
  });

  on(router, ROUTES.scanImage, async (ctx) => {
    const record = await s.scans.scan(ctx.params['id']!, principal(ctx));
    ctx.body = s.views.view(record);
  });

  on(router, ROUTES.releaseImage, async (ctx) => {
    const record = await s.scans.release(ctx.params['id']!, principal(ctx));
    ctx.body = s.views.view(record);
  });
}

/** Counts what a download sent: all of it when the answer ended whole, else what its socket took (headers included, capped). */
function countBytesOut(res: ServerResponse, metrics: ServiceMetrics, store: string, length: number): void {
  const socket = res.socket;
  const before = socket?.bytesWritten ?? 0;
  res.once('close', () => metrics.storeTransfer(store, 'out', res.writableFinished ? length : Math.min(length, (socket?.bytesWritten ?? before) - before)));
}

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ImageService } from '../../src/service/ImageService.ts';
import type { ImageSchema } from '../../src/catalog/ImageSchema.ts';
import type { QueryParams } from '../../src/catalog/ImageQuery.ts';
import { listImages, showImage, type ReadReply } from '../imageReads.ts';
import type { ImageRecord } from '../../src/catalog/ImageRecord.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { invalidField } from '../../src/errors/VisorError.ts';
import { jsonBody } from '../jsonBody.ts';
import { pickRange } from '../rangeHeader.ts';
import { sendPositional } from '../positionalSender.ts';

function principal(ctx: Context): Principal | undefined {
  return ctx.state['principal'] as Principal | undefined;
}

/** Digest header value (RFC 9530) from a "<alg>:<hex>" checksum. */
function reprDigest(checksum: string): string {
  const [alg, hex] = checksum.split(':') as [string, string];
  return `${alg === 'sha512' ? 'sha-512' : 'sha-256'}=:${Buffer.from(hex, 'hex').toString('base64')}:`;
}

export function imageRoutes(router: Router, service: ImageService, schema: ImageSchema, maxJsonBytes: number): void {
  const json = jsonBody(maxJsonBytes);

  const sendReply = (ctx: Context, reply: ReadReply) => {
    ctx.status = reply.status;
    if (reply.etag !== undefined) ctx.set('ETag', reply.etag);
    if (reply.json !== undefined) {
      ctx.type = 'application/json';
      ctx.body = reply.json;
    }
  };
  const list = (detail: boolean) => (ctx: Context) => sendReply(ctx, listImages(service, schema, ctx.path, ctx.query as QueryParams, principal(ctx), detail));
  router.get('/images', list(false));
  router.get('/images/detail', list(true));
  router.get('/images/:id', (ctx) => sendReply(ctx, showImage(service, ctx.params['id']!, principal(ctx), ctx.get('if-none-match') || undefined)));

  const sendRecord = (ctx: Context, r: ImageRecord) => {
    ctx.set('ETag', service.etag(r));
    ctx.type = 'application/json';
    ctx.body = service.viewJson(r);
  };

  router.post('/images', json, async (ctx) => {
    const r = await service.create(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `/images/${r.id}`);
    sendRecord(ctx, r);
  });

  router.put('/images/:id', json, async (ctx) => {
    const ifMatch = ctx.get('if-match') || undefined;
    sendRecord(ctx, await service.update(ctx.params['id']!, ctx.request.body, principal(ctx), ifMatch));
  });

  router.delete('/images/:id', async (ctx) => {
    ctx.type = 'application/json';
    ctx.body = service.viewJson(await service.remove(ctx.params['id']!, principal(ctx)));
  });

  router.put('/images/:id/file', async (ctx) => {
    const lengthHeader = ctx.get('content-length');
    const length = lengthHeader === '' ? undefined : Number(lengthHeader);
    if (length !== undefined && !Number.isSafeInteger(length)) throw invalidField('Content-Length', 'type', 'an integer');
    const q = ctx.query as QueryParams;
    const options = {
      ...(typeof q['algorithm'] === 'string' ? { algorithm: q['algorithm'] } : {}),
      ...(typeof q['checksum'] === 'string' ? { checksum: q['checksum'] } : {}),
      ...(length !== undefined ? { length } : {}),
    };
    sendRecord(ctx, await service.upload(ctx.params['id']!, ctx.req, options, principal(ctx)));
  });

  router.get('/images/:id/file', async (ctx) => {
    const download = service.prepareDownload(ctx.params['id']!, principal(ctx), (size, checksum) =>
      pickRange(ctx.get('range') || undefined, size, ctx.get('if-range') || undefined, `"${checksum}"`),
    );
    const { image, size, range } = download;
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
    if (range) {
      ctx.status = 206;
      ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${size}`);
    }
    ctx.length = range ? range.end - range.start + 1 : size;
    if (ctx.method === 'HEAD') {
      ctx.status = range ? 206 : 200;
      return;
    }
    if (download.openPositional) {
      const reader = await download.openPositional();
      // Koa steps aside: the ring sender writes the body itself.
      ctx.status = range ? 206 : 200;
      ctx.respond = false;
      ctx.res.writeHead(ctx.status, ctx.response.headers as Record<string, string>);
      await sendPositional(ctx.res, reader, range ? range.start : 0, ctx.length ?? size);
      return;
    }
    ctx.body = await download.open();
  });
}

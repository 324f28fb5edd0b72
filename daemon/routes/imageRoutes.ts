import type Router from '@koa/router';
import type { Context } from 'koa';
import { ROUTES } from '../../src/api/routes.ts';
import type { ImageService } from '../../src/images/ImageService.ts';
import type { ListPages } from '../../src/images/ListPages.ts';
import type { ImageRecord } from '../../src/api/ImageRecord.ts';
import { listImages, showImage, type ReadReply } from '../imageReads.ts';
import { assertSignedIn } from '../../src/auth/callerRules.ts';
import { jsonBody } from '../jsonBody.ts';
import { on, principal } from '../route.ts';

/** Images' metadata: list, show, register, change, delete. */
export function imageRoutes(router: Router, images: ImageService, pages: ListPages, maxJsonBytes: number): void {
  const json = jsonBody(maxJsonBytes, assertSignedIn);
  const { views } = images;

  const sendReply = (ctx: Context, reply: ReadReply) => {
    ctx.status = reply.status;
    if (reply.etag !== undefined) ctx.set('ETag', reply.etag);
    if (reply.json !== undefined) {
      ctx.type = 'application/json';
      ctx.body = reply.json;
    }
  };
  const list = (detail: boolean) => (ctx: Context) => sendReply(ctx, listImages(pages, ctx.path, ctx.querystring, principal(ctx), detail));
  on(router, ROUTES.listImages, list(false));
  on(router, ROUTES.listImageDetails, list(true));
  on(router, ROUTES.showImage, (ctx) => sendReply(ctx, showImage(images, ctx.params['id']!, principal(ctx), ctx.get('if-none-match') || undefined)));

  const sendRecord = (ctx: Context, r: ImageRecord) => {
    ctx.set('ETag', views.etag(r));
    ctx.type = 'application/json';
    ctx.body = views.viewJson(r);
  };

  on(router, ROUTES.createImage, json, async (ctx) => {
    const r = await images.create(ctx.request.body, principal(ctx));
    ctx.status = 201;
    ctx.set('Location', `/images/${r.id}`);
    sendRecord(ctx, r);
  });

  on(router, ROUTES.updateImage, json, async (ctx) => {
    const ifMatch = ctx.get('if-match') || undefined;
    sendRecord(ctx, await images.update(ctx.params['id']!, ctx.request.body, principal(ctx), ifMatch));
  });

  on(router, ROUTES.deleteImage, async (ctx) => {
    ctx.type = 'application/json';
    ctx.body = views.viewJson(await images.remove(ctx.params['id']!, principal(ctx)));
  });

  on(router, ROUTES.imageHistory, async (ctx) => {
    ctx.body = { history: await images.history(ctx.params['id']!, principal(ctx)) };
  });

  on(router, ROUTES.imageEndorsements, async (ctx) => {
    ctx.body = images.trust(ctx.params['id']!, principal(ctx));
  });
}

import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../src/log/Logger.ts';
import type { VisorCore } from '../src/service/VisorCore.ts';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import { errorResponse } from './httpErrors.ts';
import { RangeNotSatisfiable } from './rangeHeader.ts';
import { imageRoutes } from './routes/imageRoutes.ts';
import { seriesRoutes } from './routes/seriesRoutes.ts';
import { healthRoutes } from './routes/healthRoutes.ts';

/** The HTTP edge: translates requests to core calls and core results (and errors) to responses. */
export function createApp(core: VisorCore, auth: Authenticator, logger: Logger): Koa {
  const app = new Koa();
  app.proxy = false;
  // Errors are answered by the middleware below; Koa's default handler would only log them twice.
  app.silent = true;

  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      ctx.state['principal'] = auth.authenticate(ctx.get('authorization') || undefined);
      await next();
    } catch (error) {
      const { status, body, internal } = errorResponse(error);
      if (internal) logger.error({ err: error, method: ctx.method, url: ctx.url }, 'request failed');
      if (error instanceof RangeNotSatisfiable) ctx.set('Content-Range', `bytes */${error.size}`);
      if (status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="visor"');
      // Answering before the body was read (a refused upload): the connection cannot carry another
      // request, so say so rather than let the client reuse a socket about to be closed.
      if (!ctx.req.readableEnded) ctx.set('Connection', 'close');
      ctx.status = status;
      ctx.body = body;
    } finally {
      logger.info({ method: ctx.method, url: ctx.url, status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 }, 'request');
    }
  });

  const router = new Router();
  imageRoutes(router, core.service, core.schema, core.config.server.maxJsonBytes);
  seriesRoutes(router, core.service);
  healthRoutes(router, core);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

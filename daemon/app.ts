import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../src/log/Logger.ts';
import type { VisorCore } from '../src/service/VisorCore.ts';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import { errorResponse } from './httpErrors.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { auditTrail } from './auditTrail.ts';
import { redactKeys } from '../src/accounts/ApiKey.ts';
import { accountRoutes } from './routes/accountRoutes.ts';
import { grantRoutes } from './routes/grantRoutes.ts';
import { reportRoutes } from './routes/reportRoutes.ts';
import { RangeNotSatisfiable } from './rangeHeader.ts';
import { imageRoutes } from './routes/imageRoutes.ts';
import { seriesRoutes } from './routes/seriesRoutes.ts';
import { healthRoutes } from './routes/healthRoutes.ts';
import { historyRoutes } from './routes/historyRoutes.ts';
import { syncRoutes } from './routes/syncRoutes.ts';
import { catalogRoutes } from './routes/catalogRoutes.ts';
import { storeRoutes } from './routes/storeRoutes.ts';
import { serveGit } from './gitHttpBackend.ts';
import { principalOf } from './requestPrincipal.ts';

/** The HTTP edge: translates requests to core calls and core results (and errors) to responses. */
export function createApp(core: VisorCore, auth: Authenticator, logger: Logger): Koa {
  const app = new Koa();
  app.proxy = false;
  // Errors are answered by the middleware below; Koa's default handler would only log them twice.
  app.silent = true;

  app.use(auditTrail(core.accessControl.audit));
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      ctx.state['principal'] = await principalOf(ctx.req, auth);
      await next();
    } catch (error) {
      const { status, body, internal } = errorResponse(error);
      // Why access was refused goes to the audit log, never to the client.
      if (error instanceof VisorError && error.denial !== undefined) ctx.state['denial'] = error.denial;
      if (internal) logger.error({ err: error, method: ctx.method, url: redactKeys(ctx.url) }, 'request failed');
      if (error instanceof RangeNotSatisfiable) ctx.set('Content-Range', `bytes */${error.size}`);
      if (status === 401) ctx.set('WWW-Authenticate', 'Bearer realm="visor"');
      // Answering before the body was read (a refused upload): the connection cannot carry another
      // request, so say so rather than let the client reuse a socket about to be closed.
      if (!ctx.req.readableEnded) ctx.set('Connection', 'close');
      ctx.status = status;
      ctx.body = body;
    } finally {
      // Every request is in the audit log already; here only at debug level, where a line per
      // request cost ~9% of read throughput at info.
      if (logger.isLevelEnabled('debug')) logger.debug({ request: ctx.state['requestId'], method: ctx.method, url: redactKeys(ctx.url), status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 }, 'request');
    }
  });

  // Git's smart HTTP protocol (read-only) on /catalog.git, ahead of the router: git sends its own paths.
  app.use(async (ctx, next) => {
    if (!(await serveGit(ctx, core.catalogs.shared.dir))) await next();
  });

  const router = new Router();
  imageRoutes(router, core.service, core.schema, core.config.server.maxJsonBytes);
  seriesRoutes(router, core.service);
  healthRoutes(router, core);
  grantRoutes(router, core.service);
  accountRoutes(router, core.accessControl.accounts, core.config.server.maxJsonBytes);
  reportRoutes(router, core.accessControl.reports);
  historyRoutes(router, core.service);
  syncRoutes(router, core.follower);
  catalogRoutes(router, core.staticView);
  storeRoutes(router, core, logger);
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

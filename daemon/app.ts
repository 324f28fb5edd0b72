import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from '../src/log/Logger.ts';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import type { Principal } from '../src/auth/Principal.ts';
import type { HealthReport } from '../src/api/wire.ts';
import type { ImageSchema } from '../src/catalog/ImageSchema.ts';
import type { StaticView } from '../src/catalog/StaticView.ts';
import type { ImageService } from '../src/images/ImageService.ts';
import type { ListPages } from '../src/images/ListPages.ts';
import type { StoreCollector } from '../src/image-files/StoreCollector.ts';
import type { StoreDirectory } from '../src/image-files/StoreDirectory.ts';
import type { AccountService } from '../src/accounts/AccountService.ts';
import type { UsageReporter } from '../src/tracking/UsageReporter.ts';
import type { AuditLog } from '../src/tracking/AuditLog.ts';
import type { UpstreamFollower } from '../src/sync/UpstreamFollower.ts';
import { MethodNotAllowed, notFound, VisorError } from '../src/errors/VisorError.ts';
import { redactKeys } from '../src/accounts/ApiKey.ts';
import { errorResponse } from './httpErrors.ts';
import { auditTrail, refuseUnrecordedChanges } from './auditTrail.ts';
import { accountRoutes } from './routes/accountRoutes.ts';
import { grantRoutes } from './routes/grantRoutes.ts';
import { reportRoutes } from './routes/reportRoutes.ts';
import { imageRoutes } from './routes/imageRoutes.ts';
import { fileRoutes, type FileServices } from './routes/fileRoutes.ts';
import { seriesRoutes } from './routes/seriesRoutes.ts';
import { healthRoutes } from './routes/healthRoutes.ts';
import { syncRoutes } from './routes/syncRoutes.ts';
import { policyRoutes } from './routes/policyRoutes.ts';
import type { SitePolicy } from '../src/federation/SitePolicy.ts';
import { catalogRoutes, type SignedHeadAnswer } from './routes/catalogRoutes.ts';
import type { AnyTokenAccount } from '../src/glance/AnyTokenAccount.ts';
import { storeRoutes } from './routes/storeRoutes.ts';
import { gitMethodsOf, isGitPath, serveGit } from './gitHttpBackend.ts';
import { principalOf } from './requestPrincipal.ts';
import type { ServiceMetrics } from '../src/tracking/ServiceMetrics.ts';
import { metricsRoutes } from './routes/metricsRoutes.ts';
import { openApiRoutes } from './routes/openApiRoutes.ts';
import { requestObserver } from './requestMetrics.ts';
import { glanceRoutes } from './routes/glanceRoutes.ts';
import { glanceErrorBody, isGlancePath } from '../src/glance/GlanceErrors.ts';
import { WebSessions } from '../src/web/WebSessions.ts';
import { cookiePrincipal } from './webSession.ts';
import { webRoutes } from './routes/webRoutes.ts';

/** Every method some route takes, and OPTIONS: any other is a 405 wherever it is sent. */
const API_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The core services the HTTP edge translates for: each route gets only the ones it calls. */
export interface HttpServices {
  images: ImageService;
  pages: ListPages;
  schema: ImageSchema;
  files: FileServices;
  stores: StoreDirectory;
  collector: StoreCollector;
  accounts: AccountService;
  reports: UsageReporter;
  follower: UpstreamFollower;
  policy: SitePolicy;
  staticView: StaticView;
  /** glance.any_token_account, when configured (closed test clouds only). */
  anyToken?: AnyTokenAccount;
  /** The shared catalogue's signed head statement and the key that signs it, when published. */
  headStatement: () => SignedHeadAnswer | undefined;
  health: (who: Principal | undefined) => Promise<HealthReport>;
  audit: AuditLog;
  auth: Authenticator;
  /** The shared catalogue's folder, served read-only over Git's smart HTTP protocol. */
  sharedCatalogDir: string;
  maxJsonBytes: number;
  metrics: ServiceMetrics;
}

/** The HTTP edge: translates requests to core calls and core results (and errors) to responses. */
export function createApp(s: HttpServices, logger: Logger): Koa {
  const app = new Koa();
  app.proxy = false;
  // The web catalogue's sign-ins (daemon/routes/webRoutes.ts): a cookie stands for an API key held here.
  const sessions = new WebSessions(s.auth);
  // Errors are answered by the middleware below; Koa's default handler would only log them twice.
  app.silent = true;

  app.use(auditTrail(s.audit, requestObserver(s.metrics)));
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      // Methods the API never takes (TRACE, PROPFIND…) are refused before anything else, on every path.
      if (!API_METHODS.has(ctx.method)) throw new MethodNotAllowed(ctx.method, ctx.path, allowedOn(ctx.path));
      ctx.state['principal'] = (await principalOf(ctx.req, s.auth, s.anyToken)) ?? (await cookiePrincipal(ctx, sessions, s.images.views.publicUrl));
      await next();
    } catch (error) {
      const { status, headers, body, internal } = errorResponse(error);
      // Why access was refused goes to the audit log, never to the client.
      if (error instanceof VisorError && error.denial !== undefined) ctx.state['denial'] = error.denial;
      // Under the id the audit log and X-Request-Id carry, so the three can be matched.
      if (internal) logger.error({ err: error, request: ctx.state['requestId'], method: ctx.method, url: redactKeys(ctx.url) }, 'request failed');
      ctx.set(headers);
      // Answering before the body was read (a refused upload): the connection cannot carry another
      // request, so say so rather than let the client reuse a socket about to be closed.
      if (!ctx.req.readableEnded) ctx.set('Connection', 'close');
      ctx.status = status;
      ctx.body = isGlancePath(ctx.path) ? glanceErrorBody(status, body) : body;
    } finally {
      // Every request is in the audit log already; here only at debug level, where a line per
      // request cost ~9% of read throughput at info.
      if (logger.isLevelEnabled('debug')) logger.debug({ request: ctx.state['requestId'], method: ctx.method, url: redactKeys(ctx.url), status: ctx.status, ms: Math.round((performance.now() - started) * 10) / 10 }, 'request');
    }
  });

  app.use(refuseUnrecordedChanges(s.audit));

  // Git's smart HTTP protocol (read-only) on /catalog.git, ahead of the router: git sends its own paths.
  app.use(async (ctx, next) => {
    if (!(await serveGit(ctx, s.sharedCatalogDir))) await next();
  });

  const router = new Router();
  const allowedOn = (path: string): string[] =>
    isGitPath(path) ? gitMethodsOf(path) : [...new Set(router.match(path, 'GET').path.flatMap((layer) => layer.methods))];
  imageRoutes(router, s.images, s.pages, s.maxJsonBytes);
  fileRoutes(router, s.files, s.maxJsonBytes);
  seriesRoutes(router, s.images);
  grantRoutes(router, s.images, s.maxJsonBytes);
  accountRoutes(router, s.accounts, s.maxJsonBytes);
  reportRoutes(router, s.reports);
  syncRoutes(router, s.follower);
  policyRoutes(router, s.policy, s.maxJsonBytes);
  catalogRoutes(router, s.staticView, s.headStatement);
  storeRoutes(router, s.stores, s.collector, s.maxJsonBytes);
  healthRoutes(router, s.health);
  metricsRoutes(router, s.metrics);
  openApiRoutes(router);
  glanceRoutes(router, s.images, s.files, s.accounts, s.maxJsonBytes, s.stores);
  webRoutes(router, { images: s.images, schema: s.schema, sessions, accounts: s.accounts, reports: s.reports, stores: s.stores, health: s.health });
  app.use(router.routes());
  // No route answered: the path takes other methods (405, or the list for OPTIONS), or is unknown (404).
  app.use((ctx) => {
    const allowed = allowedOn(ctx.path);
    if (allowed.length === 0) throw notFound(`route ${ctx.method} ${ctx.path}`);
    if (ctx.method === 'OPTIONS') {
      ctx.set('Allow', allowed.join(', '));
      ctx.status = 204;
      return;
    }
    throw new MethodNotAllowed(ctx.method, ctx.path, allowed);
  });
  return app;
}

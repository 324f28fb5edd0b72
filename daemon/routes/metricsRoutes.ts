import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import type { ServiceMetrics } from '../../src/tracking/ServiceMetrics.ts';
import { on, principal } from '../route.ts';

/** GET /metrics: Prometheus's text format, for admins (a scraper authenticates with an admin's key). */
export function metricsRoutes(router: Router, metrics: ServiceMetrics): void {
  on(router, ROUTES.metrics, async (ctx) => {
    const { contentType, text } = await metrics.exposition(principal(ctx));
    ctx.type = contentType;
    ctx.body = text;
  });
}

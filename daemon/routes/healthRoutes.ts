import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import type { HealthReport } from '../../src/api/wire.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { on, principal } from '../route.ts';

/** GET /health: 200 when every store answers a real write and read, else 503 with the same report. */
export function healthRoutes(router: Router, health: (who: Principal | undefined) => Promise<HealthReport>): void {
  on(router, ROUTES.health, async (ctx) => {
    const report = await health(principal(ctx));
    ctx.status = report.status === 'ok' ? 200 : 503;
    ctx.body = report;
  });
}

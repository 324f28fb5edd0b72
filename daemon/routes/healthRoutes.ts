import type Router from '@koa/router';
import type { VisorCore } from '../../src/service/VisorCore.ts';

/** GET /health: 200 when the catalogue is loaded and every store answers a real write and read. */
export function healthRoutes(router: Router, core: VisorCore): void {
  router.get('/health', async (ctx) => {
    const stores = await core.storeHealth();
    const ok = Object.values(stores).every((s) => s.ok);
    ctx.status = ok ? 200 : 503;
    ctx.body = { status: ok ? 'ok' : 'degraded', catalog: core.catalogHealth(), stores };
  });
}

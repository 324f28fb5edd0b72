import type Router from '@koa/router';
import type { VisorCore } from '../../src/service/VisorCore.ts';
import type { Principal } from '../../src/auth/Principal.ts';

/**
 * GET /health: 200 when the catalogue is loaded and every store answers a real write and read. Admins
 * get every detail; others the status, the images they may see and each store's health — counts of
 * private images and of private writes would tell them such images exist.
 */
export function healthRoutes(router: Router, core: VisorCore): void {
  router.get('/health', async (ctx) => {
    const who = ctx.state['principal'] as Principal | undefined;
    const stores = await core.storeHealth();
    const ok = Object.values(stores).every((s) => s.ok);
    ctx.status = ok ? 200 : 503;
    const catalog = core.catalogHealth();
    ctx.body = who?.admin
      ? { status: ok ? 'ok' : 'degraded', catalog, stores }
      : {
          status: ok ? 'ok' : 'degraded',
          catalog: { head: catalog.head, images: core.service.countVisible(who) },
          stores: Object.fromEntries(Object.entries(stores).map(([name, s]) => [name, { type: s.type, ok: s.ok }])),
        };
  });
}

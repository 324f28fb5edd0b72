import type Router from '@koa/router';
import type { UpstreamFollower } from '../../src/sync/UpstreamFollower.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { forbidden, invalidField, unauthenticated } from '../../src/errors/VisorError.ts';

/**
 * POST /sync: fetch and merge the upstream catalogues now (a webhook's target). Admins only: a sync
 * rewrites the shared catalogue. ?upstream=NAME syncs one.
 */
export function syncRoutes(router: Router, follower: UpstreamFollower): void {
  router.post('/sync', async (ctx) => {
    const who = ctx.state['principal'] as Principal | undefined;
    if (!who) throw unauthenticated();
    if (!who.admin) throw forbidden('only administrators may sync upstreams');
    const name = ctx.query['upstream'];
    if (name !== undefined && typeof name !== 'string') throw invalidField('upstream', 'single', 'one upstream name');
    const results = await follower.sync(name);
    ctx.status = results.some((r) => r.mode === 'failed') ? 502 : 200;
    ctx.body = { results };
  });
}

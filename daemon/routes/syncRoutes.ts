import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import type { UpstreamFollower } from '../../src/sync/UpstreamFollower.ts';
import { invalidField, VisorError } from '../../src/errors/VisorError.ts';
import { on, principal } from '../route.ts';

/** POST /sync: fetch and merge the upstream catalogues now (a webhook's target). ?upstream=NAME syncs one. */
export function syncRoutes(router: Router, follower: UpstreamFollower): void {
  on(router, ROUTES.sync, async (ctx) => {
    const name = ctx.query['upstream'];
    if (name !== undefined && typeof name !== 'string') throw invalidField('upstream', 'single', 'one upstream name');
    const results = await follower.syncNow(principal(ctx), name);
    const failed = results.filter((r) => r.mode === 'failed');
    if (failed.length > 0) {
      throw new VisorError('upstream_failed', `sync of ${failed.map((r) => `upstream ${r.upstream} failed: ${r.error ?? 'unknown error'}`).join('; ')}`, [], { details: { results } });
    }
    ctx.body = { results };
  });
}

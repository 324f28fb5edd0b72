import type Router from '@koa/router';
import type { Context } from 'koa';
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
  // A forge's push notification: proven by the upstream's webhook secret, not an API key.
  on(router, ROUTES.syncWebhook, async (ctx) => {
    const proof = { hubSignature256: header(ctx, 'x-hub-signature-256'), giteaSignature: header(ctx, 'x-gitea-signature') ?? header(ctx, 'x-forgejo-signature'), gitlabToken: header(ctx, 'x-gitlab-token') };
    ctx.status = 202;
    ctx.body = await follower.notify(ctx.params['upstream']!, proof, ctx.req, WEBHOOK_MAX_BYTES);
  });
}

/** GitHub's own cap on a webhook's payload. */
const WEBHOOK_MAX_BYTES = 25 * 1024 * 1024;

function header(ctx: Context, name: string): string | undefined {
  const value = ctx.get(name);
  return value === '' ? undefined : value;
}

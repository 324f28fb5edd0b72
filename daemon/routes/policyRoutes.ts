import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import { assertAdmin } from '../../src/auth/callerRules.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import type { SitePolicy } from '../../src/federation/SitePolicy.ts';
import { jsonBody } from '../jsonBody.ts';
import { on, principal } from '../route.ts';

/** The site's own policy over the images it follows: which it does not offer (admins only). */
export function policyRoutes(router: Router, policy: SitePolicy, maxJsonBytes: number): void {
  const json = jsonBody(maxJsonBytes, (who: Principal | undefined) => assertAdmin(who, 'hide images'));
  on(router, ROUTES.listHidden, (ctx) => {
    ctx.body = { hidden: policy.hidden(principal(ctx)) };
  });
  on(router, ROUTES.hideImage, json, async (ctx) => {
    ctx.body = await policy.hide(principal(ctx), ctx.params['id']!, ctx.request.body);
  });
  on(router, ROUTES.unhideImage, async (ctx) => {
    ctx.body = await policy.unhide(principal(ctx), ctx.params['id']!);
  });
}

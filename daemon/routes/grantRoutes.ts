import type Router from '@koa/router';
import type { Context } from 'koa';
import { ROUTES } from '../../src/api/routes.ts';
import type { ImageService } from '../../src/images/ImageService.ts';
import { assertAccountName } from '../../src/accounts/AccountName.ts';
import { readGrantBody, type Grantee } from '../../src/access/Permission.ts';
import { assertSignedIn } from '../../src/auth/callerRules.ts';
import { jsonBody } from '../jsonBody.ts';
import { on, principal } from '../route.ts';

/** The owner's grants on an image (the paper's checkout and commit permissions). */
export function grantRoutes(router: Router, images: ImageService, maxJsonBytes = 4096): void {
  const json = jsonBody(maxJsonBytes, assertSignedIn);
  on(router, ROUTES.listGrants, (ctx) => {
    ctx.body = images.grantsOf(ctx.params['id']!, principal(ctx));
  });
  const routes = [
    { kind: 'user', grant: ROUTES.grantUser, revoke: ROUTES.revokeUser },
    { kind: 'group', grant: ROUTES.grantGroup, revoke: ROUTES.revokeGroup },
  ] as const;
  for (const { kind, grant, revoke } of routes) {
    const grantee = (ctx: Context): Grantee => ({ kind, name: assertAccountName(ctx.params['name'], kind) });
    on(router, grant, json, async (ctx) => {
      ctx.body = await images.setGrant(ctx.params['id']!, grantee(ctx), readGrantBody(ctx.request.body), principal(ctx));
    });
    on(router, revoke, async (ctx) => {
      ctx.body = await images.setGrant(ctx.params['id']!, grantee(ctx), undefined, principal(ctx));
    });
  }
}

import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ImageService } from '../../src/service/ImageService.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { assertAccountName } from '../../src/accounts/AccountName.ts';
import { readGrantBody, type Grantee } from '../../src/access/Permission.ts';
import { jsonBody } from '../jsonBody.ts';

function principal(ctx: Context): Principal | undefined {
  return ctx.state['principal'] as Principal | undefined;
}

/**
 * The owner's grants on an image (the paper's checkout and commit permissions):
 * GET /images/:id/grants, PUT and DELETE /images/:id/grants/users/:name and …/groups/:name.
 */
export function grantRoutes(router: Router, service: ImageService, maxJsonBytes = 4096): void {
  const json = jsonBody(maxJsonBytes);
  router.get('/images/:id/grants', (ctx) => {
    ctx.body = service.grantsOf(ctx.params['id']!, principal(ctx));
  });
  for (const [segment, kind] of [['users', 'user'], ['groups', 'group']] as const) {
    const grantee = (ctx: Context): Grantee => ({ kind, name: assertAccountName(ctx.params['name'], kind) });
    router.put(`/images/:id/grants/${segment}/:name`, json, async (ctx) => {
      ctx.body = await service.setGrant(ctx.params['id']!, grantee(ctx), readGrantBody(ctx.request.body), principal(ctx));
    });
    router.delete(`/images/:id/grants/${segment}/:name`, async (ctx) => {
      ctx.body = await service.setGrant(ctx.params['id']!, grantee(ctx), undefined, principal(ctx));
    });
  }
}

import type Router from '@koa/router';
import type { ImageService } from '../../src/service/ImageService.ts';
import type { Principal } from '../../src/auth/Principal.ts';

/** GET /images/:id/history: each change of an image from the Git log, for whoever may see the image. */
export function historyRoutes(router: Router, service: ImageService): void {
  router.get('/images/:id/history', async (ctx) => {
    ctx.body = { history: await service.history(ctx.params['id']!, ctx.state['principal'] as Principal | undefined) };
  });
}

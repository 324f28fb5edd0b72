import type Router from '@koa/router';
import { ROUTES, pathOf } from '../../src/api/routes.ts';
import type { ImageService } from '../../src/images/ImageService.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { invalidField } from '../../src/errors/VisorError.ts';
import { on, principal } from '../route.ts';

const SERIES = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** One fixed URL for the newest available image of a series (StratusLab's "latest of a series"). */
export function seriesRoutes(router: Router, images: ImageService): void {
  const latest = (name: string, owner: unknown, who: Principal | undefined) => {
    if (!SERIES.test(name)) throw invalidField('series', 'pattern', 'a series name matching ^[a-z0-9][a-z0-9._-]{0,127}$');
    if (owner !== undefined && (typeof owner !== 'string' || owner === '')) throw invalidField('owner', 'single', 'one owner name');
    return images.latest(name, who, owner);
  };
  on(router, ROUTES.latestOfSeries, (ctx) => {
    const r = latest(ctx.params['name']!, ctx.query['owner'], principal(ctx));
    ctx.set('Content-Location', pathOf(ROUTES.showImage, { id: r.id }));
    ctx.set('ETag', images.views.etag(r));
    ctx.body = images.views.view(r);
  });
  on(router, ROUTES.latestFileOfSeries, (ctx) => {
    const r = latest(ctx.params['name']!, ctx.query['owner'], principal(ctx));
    ctx.redirect(pathOf(ROUTES.downloadFile, { id: r.id }));
  });
}

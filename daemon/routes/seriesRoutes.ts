import type Router from '@koa/router';
import type { ImageService } from '../../src/service/ImageService.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { invalidField } from '../../src/errors/VisorError.ts';

const SERIES = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** One fixed URL for the newest available image of a series (StratusLab's "latest of a series"). */
export function seriesRoutes(router: Router, service: ImageService): void {
  const latest = (name: string, who: Principal | undefined) => {
    if (!SERIES.test(name)) throw invalidField('series', 'pattern', 'a series name matching ^[a-z0-9][a-z0-9._-]{0,127}$');
    return service.latest(name, who);
  };
  router.get('/series/:name/latest', (ctx) => {
    const r = latest(ctx.params['name']!, ctx.state['principal'] as Principal | undefined);
    ctx.set('Content-Location', `/images/${r.id}`);
    ctx.set('ETag', service.etag(r));
    ctx.body = service.view(r);
  });
  router.get('/series/:name/latest/file', (ctx) => {
    const r = latest(ctx.params['name']!, ctx.state['principal'] as Principal | undefined);
    ctx.redirect(`/images/${r.id}/file`);
  });
}

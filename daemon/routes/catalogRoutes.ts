import type Router from '@koa/router';
import type { StaticView } from '../../src/catalog/StaticView.ts';

/**
 * The static view of the shared catalogue: GET /catalog/HEAD, GET /catalog/files/<path>. Responses
 * carry the object id as a strong ETag and must be revalidated, so caches and mirrors fetch only
 * what changed. Private images are never in the shared catalogue, so never here.
 */
export function catalogRoutes(router: Router, view: StaticView): void {
  router.get('/catalog/HEAD', async (ctx) => {
    const head = await view.head();
    ctx.set('ETag', `"${head}"`);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { commit: head };
  });
  const serve = async (ctx: Parameters<Parameters<Router['get']>[1]>[0], path: string) => {
    const entry = await view.entry(path);
    const etag = `"${entry.oid}"`;
    ctx.set('ETag', etag);
    ctx.set('Cache-Control', 'public, no-cache');
    if (ctx.get('if-none-match') === etag) {
      ctx.status = 304;
      return;
    }
    if (entry.type === 'file') {
      ctx.type = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      ctx.body = entry.content;
    } else {
      ctx.body = { path, entries: entry.content };
    }
  };
  router.get('/catalog/files', (ctx) => serve(ctx, ''));
  router.get('/catalog/files/{*path}', (ctx) => serve(ctx, String(ctx.params['path'] ?? '')));
}

import type Router from '@koa/router';
import type { Context } from 'koa';
import { ROUTES } from '../../src/api/routes.ts';
import type { StaticView } from '../../src/catalog/StaticView.ts';
import type { SignedHeadStatement } from '../../src/trust/HeadStatement.ts';
import { on } from '../route.ts';

/** What GET /catalog/HEAD adds when the instance publishes a signed head statement. */
export interface SignedHeadAnswer {
  statement: SignedHeadStatement;
  /** The public key line that signs it: to pin, once checked out of band, as upstreams.<name>.head_key. */
  key: string;
}

/**
 * The static view of the shared catalogue: GET /catalog/HEAD, GET /catalog/files/<path>. Responses
 * carry the object id as a strong ETag and must be revalidated, so caches and mirrors fetch only
 * what changed. Private images are never in the shared catalogue, so never here.
 */
export function catalogRoutes(router: Router, view: StaticView, signed: () => SignedHeadAnswer | undefined): void {
  on(router, ROUTES.catalogHead, async (ctx) => {
    const head = await view.head();
    const answer = signed();
    // The statement is re-signed without a commit too: its time is part of what a cache must revalidate.
    ctx.set('ETag', answer ? `"${head}.${answer.statement.statement.issued_at}"` : `"${head}"`);
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = { commit: head, ...(answer ? { signed_head: answer.statement, key: answer.key } : {}) };
  });
  const serve = async (ctx: Context, path: string) => {
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
  on(router, ROUTES.catalogRoot, (ctx) => serve(ctx, ''));
  on(router, ROUTES.catalogFile, (ctx) => serve(ctx, String(ctx.params['path'] ?? '')));
}

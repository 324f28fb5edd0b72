import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import type { Route } from '../src/api/routes.ts';
import type { Principal } from '../src/auth/Principal.ts';

/** Registers a route of the one route table (src/api/routes.ts): the router serves nothing else. */
export function on(router: Router, route: Route, ...handlers: Middleware[]): void {
  router.register(route.path, [route.method], handlers);
}

/** Who sent the request (set by the app before any route runs; undefined for anonymous requests). */
export function principal(ctx: Context): Principal | undefined {
  return ctx.state['principal'] as Principal | undefined;
}

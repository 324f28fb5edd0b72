import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import { on } from '../route.ts';

/** GET /openapi.json: the API's description, for anyone (it says what the README says), built once on first ask. */
export function openApiRoutes(router: Router): void {
  let text: string | undefined;
  on(router, ROUTES.openApi, async (ctx) => {
    text ??= JSON.stringify((await import('../../src/api/openApiDocument.ts')).openApiDocument());
    ctx.type = 'application/json';
    ctx.body = text;
  });
}

import type Router from '@koa/router';
import { ROUTES } from '../../src/api/routes.ts';
import type { StoreCollector } from '../../src/image-files/StoreCollector.ts';
import type { StoreDirectory } from '../../src/image-files/StoreDirectory.ts';
import { invalidField } from '../../src/errors/VisorError.ts';
import { assertAdmin } from '../../src/auth/callerRules.ts';
import { jsonBody, objectBody } from '../jsonBody.ts';
import { on, principal } from '../route.ts';

/** The stores: list them, and collect what crashed writes left behind (admins). */
export function storeRoutes(router: Router, directory: StoreDirectory, collector: StoreCollector, maxJsonBytes: number): void {
  const json = jsonBody(maxJsonBytes, (who) => assertAdmin(who, 'collect store garbage'));
  on(router, ROUTES.listStores, (ctx) => {
    ctx.body = directory.list(principal(ctx));
  });

  on(router, ROUTES.collectStoreGarbage, json, async (ctx) => {
    const o = objectBody(ctx);
    const olderThan = o['older_than_seconds'] ?? 3600;
    if (typeof olderThan !== 'number' || !Number.isInteger(olderThan) || olderThan < 0) throw invalidField('older_than_seconds', 'range', 'an integer of seconds, 0 or more');
    for (const flag of ['dry_run', 'unreferenced']) if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw invalidField(flag, 'type', 'true or false');
    ctx.body = await collector.collect(principal(ctx), ctx.params['name']!, { olderThanMs: olderThan * 1000, dryRun: o['dry_run'] === true, unreferenced: o['unreferenced'] === true });
  });
}

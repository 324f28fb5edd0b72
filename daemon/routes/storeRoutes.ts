import type Router from '@koa/router';
import type { Context } from 'koa';
import type { VisorCore } from '../../src/service/VisorCore.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import { ImageCopier } from '../../src/service/ImageCopier.ts';
import { ImageLinker, type LinkRequest } from '../../src/service/ImageLinker.ts';
import { StoreCollector } from '../../src/service/StoreCollector.ts';
import { invalidField, unauthenticated, VisorError } from '../../src/errors/VisorError.ts';
import { jsonBody } from '../jsonBody.ts';

function principal(ctx: Context): Principal | undefined {
  return ctx.state['principal'] as Principal | undefined;
}

function assertAdmin(who: Principal | undefined): Principal {
  if (!who) throw unauthenticated();
  if (!who.admin) throw new VisorError('forbidden', 'only an administrator may collect store garbage');
  return who;
}

function body(ctx: Context): Record<string, unknown> {
  const b = ctx.request.body as unknown;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) throw invalidField('(body)', 'type', 'a JSON object');
  return b as Record<string, unknown>;
}

/**
 * Stores at the edge: copy or move an image between stores, register a file already in a store (an
 * image by URL), list the configured stores, and collect what crashed writes left behind.
 */
export function storeRoutes(router: Router, core: VisorCore, logger: { warn(o: object, m: string): void }): void {
  const json = jsonBody(core.config.server.maxJsonBytes);
  const copier = new ImageCopier({ service: core.service, stores: core.stores, onCleanupError: (id, err) => logger.warn({ image: id, err }, 'old location could not be deleted; store gc will find it') });
  const linker = new ImageLinker({ service: core.service, stores: core.stores, checksum: core.config.uploads.checksum });
  const collector = new StoreCollector({ stores: core.stores, images: () => core.index.all(), busy: () => core.service.busyImages });

  router.post('/images/:id/copy', json, async (ctx) => {
    const b = body(ctx);
    const controller = new AbortController();
    // A client that gives up stops the copy: nothing is published, and a re-run starts clean.
    ctx.req.once('close', () => {
      if (!ctx.res.writableEnded) controller.abort();
    });
    const record = await copier.copy(ctx.params['id']!, { to: b['to'] as string, ...(b['move'] !== undefined ? { move: b['move'] as boolean } : {}), signal: controller.signal }, principal(ctx));
    ctx.body = core.service.view(record);
  });

  router.post('/images/:id/locations', json, async (ctx) => {
    const record = await linker.link(ctx.params['id']!, body(ctx) as LinkRequest, principal(ctx));
    ctx.body = core.service.view(record);
  });

  router.get('/stores', (ctx) => {
    if (!principal(ctx)) throw unauthenticated();
    // Names and types only: settings may hold credentials.
    ctx.body = { default: core.config.defaultStore, stores: [...core.stores.values()].map((s) => ({ name: s.name, type: s.type, writable: s.writable })) };
  });

  router.post('/stores/:name/gc', json, async (ctx) => {
    assertAdmin(principal(ctx));
    const b = body(ctx);
    const olderThan = b['older_than_seconds'] ?? 3600;
    if (typeof olderThan !== 'number' || !Number.isInteger(olderThan) || olderThan < 0) throw invalidField('older_than_seconds', 'range', 'an integer of seconds, 0 or more');
    for (const flag of ['dry_run', 'unreferenced']) if (b[flag] !== undefined && typeof b[flag] !== 'boolean') throw invalidField(flag, 'type', 'true or false');
    ctx.body = await collector.collect(ctx.params['name']!, { olderThanMs: olderThan * 1000, dryRun: b['dry_run'] === true, unreferenced: b['unreferenced'] === true });
  });
}

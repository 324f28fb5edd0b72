import { randomBytes } from 'node:crypto';
import type Router from '@koa/router';
import type { Context, Middleware } from 'koa';
import { WEB_ROUTES } from '../../src/api/routes.ts';
import type { ImageService } from '../../src/images/ImageService.ts';
import type { ImageSchema } from '../../src/catalog/ImageSchema.ts';
import type { AccountService } from '../../src/accounts/AccountService.ts';
import type { UsageReporter } from '../../src/tracking/UsageReporter.ts';
import type { StoreDirectory } from '../../src/image-files/StoreDirectory.ts';
import type { Principal } from '../../src/auth/Principal.ts';
import type { HealthReport } from '../../src/api/wire.ts';
import { assertAdmin } from '../../src/auth/callerRules.ts';
import { parseImageQuery, queryToParams, type ImageQuery, type QueryParams } from '../../src/catalog/ImageQuery.ts';
import { forbidden, notFound, VisorError } from '../../src/errors/VisorError.ts';
import type { SafeHtml } from '../../src/web/Html.ts';
import { sameToken, type WebSessions } from '../../src/web/WebSessions.ts';
import { WEB_ASSETS } from '../../src/web/webAssets.ts';
import { browsePage, type BrowseView } from '../../src/web/pages/browsePage.ts';
import { imagePage } from '../../src/web/pages/imagePage.ts';
import { seriesPage } from '../../src/web/pages/seriesPage.ts';
import { signInPage } from '../../src/web/pages/signInPage.ts';
import { uploadPage } from '../../src/web/pages/uploadPage.ts';
import { adminPage } from '../../src/web/pages/adminPage.ts';
import { errorPage } from '../../src/web/pages/errorPage.ts';
import { WEB_PATHS, type Viewer } from '../../src/web/pages/layout.ts';
import { errorResponse } from '../httpErrors.ts';
import { clientOf, requestAddress } from '../clientAddress.ts';
import { formBody } from '../formBody.ts';
import { on, principal } from '../route.ts';
import { secureCookies, sessionIdOf, setSessionCookie, webSessionOf } from '../webSession.ts';

export interface WebServices {
  images: ImageService;
  schema: ImageSchema;
  sessions: WebSessions;
  accounts: AccountService;
  reports: UsageReporter;
  stores: StoreDirectory;
  health: (who: Principal | undefined) => Promise<HealthReport>;
}

/**
 * The sign-in form's double-submit cookie: only a page of this site can post its value back. Prefixed
 * __Secure- where cookies are Secure, so that no plain http:// answer can plant one (__Host- would
 * need Path=/).
 */
const signInCookie = (secure: boolean) => (secure ? '__Secure-visor_sign_in' : 'visor_sign_in');
/** Rows per page unless the query says: a page stays small however large the catalogue. */
const PAGE_ROWS = '50';
const ENUM_FIELDS = ['access', 'status', 'disk', 'architecture', 'container_format'];

/**
 * Every page's headers: no script or style but the catalogue's own files (so an injected tag could
 * not run even if escaping failed), no framing, no sniffing, no referrer, no caching of a page that
 * may show a private image.
 */
const CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const secured: Middleware = async (ctx, next) => {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.set('Cache-Control', 'no-store');
  await next();
};

function viewerOf(ctx: Context): Viewer {
  return { who: principal(ctx), csrf: webSessionOf(ctx)?.csrf };
}

function send(ctx: Context, page: SafeHtml, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page.toString();
}

/**
 * A page's handler, whose refusals (not found, not allowed, bad query) answer as an HTML page with the
 * API's status and message; failures of ours go on to the app's one error handler and its log.
 */
function page(handler: (ctx: Context) => Promise<void> | void): Middleware {
  return async (ctx) => {
    try {
      await handler(ctx);
    } catch (error) {
      const { status, body, internal } = errorResponse(error);
      if (internal) throw error;
      if (error instanceof VisorError && error.denial !== undefined) ctx.state['denial'] = error.denial;
      send(ctx, errorPage(viewerOf(ctx), status, body.error.message), status);
    }
  };
}

/** The form's checks against the page's token: a post that cannot show it is refused, whoever sent it. */
function assertToken(form: URLSearchParams, expected: string | undefined): void {
  const sent = form.get('csrf') ?? '';
  if (expected === undefined || sent === '' || !sameToken(sent, expected)) throw forbidden('the form is stale or came from another site: reload the page and try again');
}

/**
 * The web catalogue: server-rendered pages over the same core calls, with the same access rules, as the
 * API (a page shows exactly what the caller's GET /images would). Signed in, a browser acts through a
 * session cookie (daemon/webSession.ts); every write carries the session's CSRF token.
 */
export function webRoutes(router: Router, s: WebServices): void {
  const choices: Record<string, readonly string[]> = Object.fromEntries(
    ENUM_FIELDS.map((f) => [f, ((s.schema.schema.properties[f]?.enum ?? []) as unknown[]).map(String)]),
  );

  on(router, WEB_ROUTES.browse, secured, page((ctx) => {
    // Blank fields of the form are no filter; everything else is the API's list query, refused as it would be.
    const form: Record<string, string> = {};
    const params: QueryParams = {};
    for (const [key, value] of Object.entries(ctx.query)) {
      const vs = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');
      if (vs.length === 0) continue;
      params[key] = vs.length === 1 ? vs[0] : vs;
      form[key] = vs[0]!;
    }
    params['limit'] ??= PAGE_ROWS;
    const view: BrowseView = { form, choices, images: [], ownerOf: (r) => s.images.ownerName(r) };
    let query: ImageQuery;
    try {
      query = parseImageQuery(params, s.schema);
    } catch (error) {
      if (!(error instanceof VisorError)) throw error;
      send(ctx, browsePage(viewerOf(ctx), { ...view, problem: error.message }), 400);
      return;
    }
    const result = s.images.list(query, principal(ctx));
    if (result.nextMarker !== undefined) view.next = `${WEB_PATHS.browse}?${queryToParams(query, result.nextMarker).toString()}`;
    if (query.marker !== undefined) {
      const first = queryToParams(query, '');
      first.delete('marker');
      view.first = `${WEB_PATHS.browse}?${first.toString()}`;
    }
    send(ctx, browsePage(viewerOf(ctx), { ...view, images: result.images }));
  }));

  // After browse: the router's `/ui` pattern also matches `/ui/`, which browse has answered by then.
  on(router, WEB_ROUTES.home, secured, (ctx) => ctx.redirect(WEB_PATHS.browse));

  on(router, WEB_ROUTES.image, secured, page(async (ctx) => {
    const who = principal(ctx);
    const id = ctx.params['id']!;
    const image = s.images.get(id, who);
    const [history, trust] = await Promise.all([s.images.history(id, who), Promise.resolve(s.images.trust(id, who))]);
    send(ctx, imagePage(viewerOf(ctx), { image, history, trust, publicUrl: s.images.views.publicUrl, owner: s.images.ownerName(image), ...grantsFor(id, who) }));
  }));

  // Grants are the owner's and admins' to see (the core says who): others' pages simply have none.
  const grantsFor = (id: string, who: Principal | undefined) => {
    try {
      return { grants: s.images.grantsOf(id, who) };
    } catch (error) {
      if (error instanceof VisorError && (error.kind === 'forbidden' || error.kind === 'unauthenticated' || error.kind === 'not_found')) return {};
      throw error;
    }
  };

  on(router, WEB_ROUTES.admin, secured, page(async (ctx) => {
    const who = principal(ctx);
    // Refused before any work (each core call below checks again).
    assertAdmin(who, 'see the administration pages');
    const [health, report] = await Promise.all([s.health(who), s.reports.report(who, { unusedDays: 90, top: 10, activityDays: 30 })]);
    send(ctx, adminPage(viewerOf(ctx), { health, report, stores: s.stores.list(who), users: s.accounts.listUsers(who), groups: s.accounts.listGroups(who) }));
  }));

  on(router, WEB_ROUTES.series, secured, page((ctx) => {
    send(ctx, seriesPage(viewerOf(ctx), s.images.latestOfEachSeries(principal(ctx)), (r) => s.images.ownerName(r)));
  }));

  on(router, WEB_ROUTES.upload, secured, page((ctx) => {
    if (principal(ctx) === undefined) return ctx.redirect(WEB_PATHS.signIn);
    send(ctx, uploadPage(viewerOf(ctx), choices));
  }));

  const signInForm = (ctx: Context, problem?: string, status = 200) => {
    const token = randomBytes(24).toString('base64url');
    const secure = secureCookies(ctx, s.images.views.publicUrl);
    ctx.cookies.set(signInCookie(secure), token, { httpOnly: true, sameSite: 'strict', secure, path: WEB_PATHS.signIn, maxAge: 3600_000, overwrite: true });
    send(ctx, signInPage(viewerOf(ctx), token, problem), status);
  };
  on(router, WEB_ROUTES.signInForm, secured, page((ctx) => signInForm(ctx)));

  on(router, WEB_ROUTES.signIn, secured, page(async (ctx) => {
    const form = await formBody(ctx);
    const secure = secureCookies(ctx, s.images.views.publicUrl);
    assertToken(form, ctx.cookies.get(signInCookie(secure)));
    const key = form.get('key')?.trim() ?? '';
    let session;
    try {
      session = await s.sessions.open(key, clientOf(requestAddress(ctx.req)));
    } catch (error) {
      if (error instanceof VisorError && error.kind === 'unauthenticated') return signInForm(ctx, `Not signed in: ${error.message}.`, 401);
      throw error;
    }
    // A session the browser had before is ended, not left usable beside the new one.
    s.sessions.close(sessionIdOf(ctx, s.images.views.publicUrl));
    ctx.state['principal'] = session.principal;
    setSessionCookie(ctx, session.id, s.images.views.publicUrl);
    ctx.cookies.set(signInCookie(secure), '', { path: WEB_PATHS.signIn, secure, maxAge: 0, overwrite: true });
    ctx.status = 303;
    ctx.redirect(WEB_PATHS.browse);
  }));

  on(router, WEB_ROUTES.signOut, secured, page(async (ctx) => {
    const form = await formBody(ctx);
    const session = webSessionOf(ctx);
    if (session !== undefined) {
      assertToken(form, session.csrf);
      ctx.state['principal'] = session.principal;
      s.sessions.close(sessionIdOf(ctx, s.images.views.publicUrl));
    }
    setSessionCookie(ctx, undefined, s.images.views.publicUrl);
    ctx.status = 303;
    ctx.redirect(WEB_PATHS.browse);
  }));

  on(router, WEB_ROUTES.asset, secured, (ctx) => {
    const asset = WEB_ASSETS.get(ctx.params['name']!);
    if (asset === undefined) throw notFound(`asset ${ctx.params['name']!}`);
    ctx.set('Cache-Control', 'no-cache');
    ctx.type = asset.type;
    ctx.body = asset.body;
  });
}

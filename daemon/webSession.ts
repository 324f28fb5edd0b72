import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { Principal } from '../src/auth/Principal.ts';
import { sameToken, type WebSession, type WebSessions } from '../src/web/WebSessions.ts';
import { clientOf, requestAddress } from './clientAddress.ts';

/** The cookie holding a signed-in browser's session id (HttpOnly, SameSite=Strict, Secure under TLS). */
export const SESSION_COOKIE = 'visor_session';

/**
 * The session cookie's name: prefixed __Host- wherever cookies are Secure (secureCookies). A browser
 * takes a __Host- cookie only from this very host over https, so neither a sibling host of the domain
 * nor a network attacker answering some plain http:// request can plant one: a planted session would
 * sign the victim in as the attacker, whose account would then receive what the victim uploads.
 */
export function sessionCookieName(secure: boolean): string {
  return secure ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE;
}

/** The session id the request's cookie carries, under the name this deployment gives it. */
export function sessionIdOf(ctx: Context, publicUrl: string): string | undefined {
  return ctx.cookies.get(sessionCookieName(secureCookies(ctx, publicUrl)));
}
/** The header a page's script sends its session's CSRF token in (forms send it as the `csrf` field). */
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The browser session a request carries a cookie for, once looked up (set by cookiePrincipal). */
export function webSessionOf(ctx: Context): WebSession | undefined {
  return ctx.state['webSession'] as WebSession | undefined;
}

/**
 * Who a request without credentials of its own is, by its session cookie: for reads, the session's
 * account; for writes, only when the request also carries the session's CSRF token in the header a
 * page's script sends (a form's token is in its body, checked by the web routes, daemon/routes/webRoutes.ts).
 * A write with the cookie alone is anonymous: a cross-site form cannot act as the user even where
 * a browser sends SameSite=Strict cookies anyway.
 */
export async function cookiePrincipal(ctx: Context, sessions: WebSessions, publicUrl: string): Promise<Principal | undefined> {
  const id = sessionIdOf(ctx, publicUrl);
  if (!id) return undefined;
  const session = await sessions.find(id, clientOf(requestAddress(ctx.req)));
  if (!session) return undefined;
  ctx.state['webSession'] = session;
  if (SAFE_METHODS.has(ctx.method)) return session.principal;
  const token = ctx.get(CSRF_HEADER);
  return token !== '' && sameToken(token, session.csrf) ? session.principal : undefined;
}

/**
 * Whether a request may be a signed-in browser's: no credentials of its own, a session cookie. Such a
 * request is the Koa app's to answer (the hot read path authenticates headers only).
 */
export function mayCarrySession(req: IncomingMessage): boolean {
  return !req.headers.authorization && !req.headers['x-auth-token'] && (req.headers.cookie ?? '').includes(`${SESSION_COOKIE}=`);
}

/**
 * Whether the catalogue's cookies are Secure: when the daemon serves TLS itself, and when its public
 * URL is https (TLS ends at a proxy in front, so this request came in plain). Without the flag the
 * browser would send the session id on any http:// request to the host too, one a network attacker
 * can make it send (a planted link or redirect), and read it off the wire.
 */
export function secureCookies(ctx: Context, publicUrl: string): boolean {
  const secure = ctx.secure || publicUrl.startsWith('https:');
  // The cookies library refuses a Secure cookie on a request it sees as plain, which behind the proxy it is not.
  if (secure) ctx.cookies.secure = true;
  return secure;
}

/** Sets or clears the session cookie; Secure as secureCookies says. */
export function setSessionCookie(ctx: Context, id: string | undefined, publicUrl: string): void {
  const secure = secureCookies(ctx, publicUrl);
  ctx.cookies.set(sessionCookieName(secure), id ?? '', {
    httpOnly: true,
    sameSite: 'strict',
    secure,
    path: '/',
    overwrite: true,
    ...(id === undefined ? { maxAge: 0, expires: new Date(0) } : {}),
  });
}

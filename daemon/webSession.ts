import type { IncomingMessage } from 'node:http';
import type { Context } from 'koa';
import type { Principal } from '../src/auth/Principal.ts';
import { sameToken, type WebSession, type WebSessions } from '../src/web/WebSessions.ts';
import { clientOf, requestAddress } from './clientAddress.ts';

/** The cookie holding a signed-in browser's session id (HttpOnly, SameSite=Strict, Secure under TLS). */
export const SESSION_COOKIE = 'visor_session';
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
export async function cookiePrincipal(ctx: Context, sessions: WebSessions): Promise<Principal | undefined> {
  const id = ctx.cookies.get(SESSION_COOKIE);
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

/** Sets or clears the session cookie; Secure whenever the daemon itself serves TLS. */
export function setSessionCookie(ctx: Context, id: string | undefined): void {
  ctx.cookies.set(SESSION_COOKIE, id ?? '', {
    httpOnly: true,
    sameSite: 'strict',
    secure: ctx.secure,
    path: '/',
    overwrite: true,
    ...(id === undefined ? { maxAge: 0, expires: new Date(0) } : {}),
  });
}

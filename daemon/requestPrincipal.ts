import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import type { Principal } from '../src/auth/Principal.ts';
import type { AnyTokenAccount } from '../src/glance/AnyTokenAccount.ts';
import { clientOf, requestAddress } from './clientAddress.ts';

const ANONYMOUS = Promise.resolve(undefined);
const principals = new WeakMap<IncomingMessage, Promise<Principal | undefined>>();

/**
 * Who sent the request, authenticated once per request: a request the hot read path hands over to
 * the Koa app is not checked twice (a refused key may cost a slow hash).
 */
export function principalOf(req: IncomingMessage, auth: Authenticator, anyToken?: AnyTokenAccount): Promise<Principal | undefined> {
  const authorization = presentedCredential(req);
  // Nothing to check (and nothing to remember) for an anonymous request.
  if (!authorization) return ANONYMOUS;
  let principal = principals.get(req);
  if (!principal) {
    principal = auth.authenticate(authorization, clientOf(requestAddress(req)));
    // A closed test cloud's own tokens on the Glance edge (glance.any_token_account; off by default).
    if (anyToken?.applies(pathOf(req.url), req.headers)) principal = principal.catch((error: unknown) => anyToken.fallBack(error));
    principals.set(req, principal);
  }
  return principal;
}

function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/**
 * The credentials a request presents, as an Authorization header value: the header itself, or an
 * OpenStack client's X-Auth-Token (the Glance v2 edge), URL-quoted, which carries a VISOR API key
 * checked exactly as `Authorization: Bearer` is (Authorization wins when both come).
 */
export function presentedCredential(req: IncomingMessage): string | undefined {
  return req.headers.authorization ?? openStackToken(req.headers['x-auth-token']);
}

function openStackToken(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header === '') return undefined;
  let token = header;
  try {
    token = decodeURIComponent(header);
  } catch {
    // Not URL-quoted: checked as sent, and refused like any other bad key.
  }
  return `Bearer ${token}`;
}

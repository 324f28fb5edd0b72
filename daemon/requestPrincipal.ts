import type { IncomingMessage } from 'node:http';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import type { Principal } from '../src/auth/Principal.ts';
import { clientOf, requestAddress } from './clientAddress.ts';

const ANONYMOUS = Promise.resolve(undefined);
const principals = new WeakMap<IncomingMessage, Promise<Principal | undefined>>();

/**
 * Who sent the request, authenticated once per request: a request the hot read path hands over to
 * the Koa app is not checked twice (a refused key may cost a slow hash).
 */
export function principalOf(req: IncomingMessage, auth: Authenticator): Promise<Principal | undefined> {
  const authorization = req.headers.authorization;
  // Nothing to check (and nothing to remember) for an anonymous request.
  if (!authorization) return ANONYMOUS;
  let principal = principals.get(req);
  if (!principal) {
    principal = auth.authenticate(authorization, clientOf(requestAddress(req)));
    principals.set(req, principal);
  }
  return principal;
}

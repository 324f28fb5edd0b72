import type { Principal } from '../auth/Principal.ts';
import { unauthenticated, VisorError } from '../errors/VisorError.ts';
import { isGlancePath } from './GlanceErrors.ts';

/**
 * For closed test clouds only (`glance.any_token_account`): on the Glance v2 edge, an `X-Auth-Token`
 * that is not a VISOR key stands for one named account, as a test cloud's clients send whatever
 * token their Keystone stand-in gave them. A token that is a VISOR key is still that key's account;
 * `Authorization` headers and VISOR's own routes are never affected. Off unless configured.
 */
export class AnyTokenAccount {
  readonly account: string;
  private readonly principalOf: (name: string) => Principal | undefined;

  constructor(account: string, principalOf: (name: string) => Principal | undefined) {
    this.account = account;
    this.principalOf = principalOf;
  }

  /** Whether a request's credentials may fall back to the account: an X-Auth-Token (no Authorization) on a /v2 path. */
  applies(path: string, headers: { authorization?: string | undefined; 'x-auth-token'?: string | string[] | undefined }): boolean {
    return headers.authorization === undefined && typeof headers['x-auth-token'] === 'string' && headers['x-auth-token'] !== '' && path !== '/' && path !== '/versions' && isGlancePath(path);
  }

  /** The account, as its key would make it now; refused when it has gone, is disabled or has become an admin. */
  principal(): Principal {
    const p = this.principalOf(this.account);
    const why = whyNot(this.account, p);
    if (why) throw unauthenticated(why);
    return p!;
  }

  /** A refusal of the token, answered as the account instead; anything else (429…) stands. */
  fallBack(error: unknown): Principal {
    if (error instanceof VisorError && error.kind === 'unauthenticated') return this.principal();
    throw error;
  }
}

/**
 * Why the account cannot stand for any token, if it cannot: it must be an enabled account and not an
 * administrator (any token would then administer the whole instance) nor a sync account.
 */
export function whyNot(account: string, p: Principal | undefined): string | undefined {
  if (!p) return `glance.any_token_account: ${account} is no enabled account`;
  if (p.admin) return `glance.any_token_account: ${account} is an administrator; any token would administer this instance (name an ordinary account)`;
  if (p.syncOnly) return `glance.any_token_account: ${account} is a sync account; name an ordinary account`;
  return undefined;
}

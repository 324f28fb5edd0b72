import type { Principal } from './Principal.ts';

/**
 * The one seam through which requests are authenticated. Resolves to undefined for an anonymous
 * request (no credentials) and rejects with an 'unauthenticated' VisorError for bad credentials, so
 * routes and the core never see how credentials are checked.
 */
export interface Authenticator {
  /** `client` names where the request came from (budgets against guessing are kept per client). */
  authenticate(authorization: string | undefined, client?: string): Promise<Principal | undefined>;
  /** Slow key checks running and waiting for their turn now, where keys are checked that way (the metrics). */
  keyChecks?(): { running: number; queued: number };
}

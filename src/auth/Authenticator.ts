import type { Principal } from './Principal.ts';

/**
 * The one seam through which requests are authenticated. Returns undefined for an anonymous request
 * (no credentials) and throws an 'unauthenticated' VisorError for bad credentials. The admin-token
 * implementation is replaced by user accounts later without touching routes or the core.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Principal | undefined;
}

import type { Principal } from './Principal.ts';
import { forbidden, unauthenticated } from '../errors/VisorError.ts';

/**
 * Rules about the caller alone, before any image is looked at: a change needs a signed-in caller
 * (401 otherwise, whether or not the image is visible), and admin-only operations an admin (403).
 */
export function assertSignedIn(who: Principal | undefined): Principal {
  if (!who) throw unauthenticated();
  if (who.syncOnly) throw forbidden(`${who.name} has the sync role: it may trigger upstream syncs and nothing else`);
  return who;
}

/** Syncs may be triggered by admins and by accounts of the sync role. */
export function assertMaySync(who: Principal | undefined): Principal {
  if (who?.syncOnly) return who;
  return assertAdmin(who, 'sync upstreams');
}

export function assertAdmin(who: Principal | undefined, what: string): Principal {
  if (!assertSignedIn(who).admin) throw forbidden(`only admins may ${what}`);
  return who!;
}

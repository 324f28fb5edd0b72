import type { Principal } from '../auth/Principal.ts';
import { forbidden, unauthenticated } from '../errors/VisorError.ts';

/** The one admin-only rule: anonymous callers are asked to authenticate (401), others refused (403). */
export function assertAdmin(who: Principal | undefined, what: string): Principal {
  if (!who) throw unauthenticated();
  if (!who.admin) throw forbidden(`only admins may ${what}`);
  return who;
}

import { invalidField } from '../errors/VisorError.ts';

import type { Permission } from '../api/wire.ts';

export type { Grantee, ImageGrants, ImageGrantsView, Permission } from '../api/wire.ts';

export const PERMISSIONS: readonly Permission[] = ['checkout', 'commit'];

/**
 * What a caller may do with one image, each level including the ones before: `manage` is the owner's
 * and admins' (delete, change `access`, grant and revoke).
 */
export type AccessLevel = 'none' | 'checkout' | 'commit' | 'manage';
const ORDER: readonly AccessLevel[] = ['none', 'checkout', 'commit', 'manage'];

export function atLeast(level: AccessLevel, needed: AccessLevel): boolean {
  return ORDER.indexOf(level) >= ORDER.indexOf(needed);
}

export function higher(a: AccessLevel, b: AccessLevel): AccessLevel {
  return atLeast(a, b) ? a : b;
}

/** A grant request's body: exactly `{"permission": "checkout" | "commit"}`. */
export function readGrantBody(body: unknown): Permission {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidField('(body)', 'type', 'a JSON object {"permission": "checkout" | "commit"}');
  const extra = Object.keys(body).filter((k) => k !== 'permission');
  if (extra.length > 0) throw invalidField(extra[0]!, 'additionalProperties', 'only permission', `${extra[0]!}: not a field of a grant (the grantee is in the path; the owner is the image's)`);
  const p = (body as Record<string, unknown>)['permission'];
  if (!PERMISSIONS.includes(p as Permission)) throw invalidField('permission', 'enum', 'checkout or commit');
  return p as Permission;
}

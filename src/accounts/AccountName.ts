import { invalidField } from '../errors/VisorError.ts';

/**
 * User and group names: short, lowercase, safe in URLs, file names and Git author lines. Names the
 * daemon uses for itself cannot be taken.
 */
const NAME = /^[a-z][a-z0-9._-]{0,62}$/;
const RESERVED = new Set(['visor', 'anonymous', 'me']);

export function assertAccountName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    const shown = typeof value === 'string' ? `"${value.slice(0, 80)}"` : typeof value;
    throw invalidField(field, 'pattern', 'a name matching ^[a-z][a-z0-9._-]{0,62}$', `${field}: ${shown} is not a valid name (lowercase letter first, then up to 62 of a-z 0-9 . _ -)`);
  }
  if (RESERVED.has(value)) throw invalidField(field, 'reserved', `a name other than ${[...RESERVED].join(', ')}`, `${field}: "${value}" is reserved`);
  return value;
}

import type { ImageRecord } from '../api/ImageRecord.ts';
import type { Principal } from '../auth/Principal.ts';
import { forbidden, invalidField } from '../errors/VisorError.ts';

/** Glance base properties kept in a VISOR field of another name. */
const RENAMED: Readonly<Record<string, string>> = { disk_format: 'disk', kernel_id: 'kernel', ramdisk_id: 'ramdisk' };

/** Glance properties kept in the VISOR field of the same name (architecture and description are custom properties to Glance). */
const SAME = new Set(['name', 'container_format', 'min_ram', 'min_disk', 'tags', 'architecture', 'description']);

/** Properties the server sets: a client's value is refused (403, as Glance does). */
export const GLANCE_READ_ONLY = new Set(['id', 'status', 'checksum', 'os_hash_algo', 'os_hash_value', 'size', 'virtual_size', 'created_at', 'updated_at', 'direct_url', 'self', 'file', 'schema', 'locations', 'stores']);

/** Names Glance reserves: never a custom property. */
export function isReserved(name: string): boolean {
  return name === 'location' || name === 'deleted' || name === 'deleted_at' || name.startsWith('os_glance');
}

/** Glance's custom properties that VISOR keeps in record fields, by Glance name (for the view). */
export const FIELD_PROPERTIES: Readonly<Record<string, keyof ImageRecord>> = { architecture: 'architecture', description: 'description', kernel_id: 'kernel', ramdisk_id: 'ramdisk' };

/** Marks a property removed (a patch's remove). */
export const REMOVED: unique symbol = Symbol('removed');
export type GlanceValue = unknown;

/**
 * Glance image properties (a create's body, a patch's outcome) as the VISOR fields of a create or
 * update body: the core (ImageService, the record schema) then judges them as it judges its own
 * API's. `current` is the image being changed (undefined for a create). Removing a field is null,
 * as in VISOR's own update; custom properties become the record's `properties`, strings only.
 */
export function visorFieldsOf(changes: ReadonlyMap<string, GlanceValue>, current: ImageRecord | undefined, who: Principal): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let properties: Record<string, string> | undefined;
  for (const [name, value] of changes) {
    const removed = value === REMOVED;
    if (isReserved(name)) throw forbidden(`attribute '${name}' is reserved`);
    if (GLANCE_READ_ONLY.has(name)) throw forbidden(`attribute '${name}' is read-only`);
    if (name === 'owner') {
      // The owner is a VISOR account; images change hands through neither edge.
      if (removed || value !== (current?.owner ?? who.name)) throw forbidden(`attribute 'owner' is the owning VISOR account (${current?.owner ?? who.name}); it cannot change`);
      continue;
    }
    if (name === 'visibility') {
      out['access'] = accessOf(removed ? undefined : value);
      // Community is a public image Glance lists only when asked for; false is the flag's absence.
      if (value === 'community') out['community'] = true;
      else if (current?.community === true) out['community'] = null;
    }
    else if (name === 'protected' || name === 'os_hidden') {
      if (removed) throw forbidden(`attribute '${name}' is a base property and cannot be removed`);
      if (typeof value !== 'boolean') throw invalidField(name, 'type', 'true or false');
      // false is the absence of the flag: records do not fill up with it.
      out[name === 'protected' ? 'protected' : 'unlisted'] = value ? true : null;
    } else if (name === 'name' && (removed || value === null)) {
      throw invalidField('name', 'required', 'a name', 'name: a VISOR image needs a name');
    } else if (name in RENAMED || SAME.has(name)) {
      out[RENAMED[name] ?? name] = removed ? null : value;
    } else {
      if (!removed && typeof value !== 'string') throw invalidField(name, 'type', 'a string', `${name}: custom properties are strings, not ${JSON.stringify(value)?.slice(0, 40) ?? typeof value}`);
      properties ??= { ...current?.properties };
      if (removed) delete properties[name];
      else properties[name] = value as string;
    }
  }
  if (properties !== undefined) out['properties'] = Object.keys(properties).length > 0 ? properties : null;
  return out;
}

function accessOf(visibility: unknown): 'public' | 'private' {
  if (visibility === 'public' || visibility === 'community') return 'public';
  // VISOR's private images are shared through grants (Glance's members): private and shared are one access.
  if (visibility === 'private' || visibility === 'shared') return 'private';
  throw invalidField('visibility', 'enum', 'public, private, shared or community');
}

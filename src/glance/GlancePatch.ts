import { conflict, forbidden, invalidField } from '../errors/VisorError.ts';
import { BASE_PROPERTIES, type GlanceImage } from './GlanceImageView.ts';
import { REMOVED, type GlanceValue } from './GlanceFields.ts';

/** The PATCH media types Glance takes: RFC 6902 style (2.1) and the legacy `{"replace": "/name"}` form (2.0). */
export const PATCH_MEDIA_TYPES = ['application/openstack-images-v2.1-json-patch', 'application/openstack-images-v2.0-json-patch'] as const;

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  /** The property the operation names (its one-level path, unescaped). */
  property: string;
  value?: unknown;
}

const OPS = new Set(['add', 'replace', 'remove']);

/**
 * A PATCH body as operations, in either media type. Glance's patches are one level deep (`/name`,
 * `/tags`, `/hw_disk_bus`): a deeper path (`/tags/0`) names nothing Glance lets a client change
 * piecewise, and is refused.
 */
export function parsePatch(body: unknown, mediaType: (typeof PATCH_MEDIA_TYPES)[number]): PatchOperation[] {
  if (!Array.isArray(body)) throw invalidField('(body)', 'type', 'a JSON array of patch operations');
  return body.map((item: unknown, i) => {
    const at = `(body)[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw invalidField(at, 'type', 'an object: {"op": …, "path": …, "value": …}');
    const o = item as Record<string, unknown>;
    let op: unknown;
    let path: unknown;
    if (mediaType === PATCH_MEDIA_TYPES[0]) {
      op = o['op'];
      path = o['path'];
    } else {
      op = [...OPS].find((name) => name in o);
      path = op === undefined ? undefined : o[op as string];
    }
    if (typeof op !== 'string' || !OPS.has(op)) throw invalidField(`${at}.op`, 'enum', 'add, replace or remove');
    if (typeof path !== 'string' || !/^\/[^/]+$/.test(path)) throw invalidField(`${at}.path`, 'pattern', 'a one-level path such as /name or /tags');
    if (op !== 'remove' && !('value' in o)) throw invalidField(`${at}.value`, 'required', `a value for ${op}`);
    const property = path.slice(1).replace(/~1/g, '/').replace(/~0/g, '~');
    return { op: op as PatchOperation['op'], property, ...(op === 'remove' ? {} : { value: o['value'] }) };
  });
}

/**
 * Applies operations to an image's view, Glance's way: `add` sets whether or not the property exists
 * (OSC adds everything); `replace` and `remove` of an absent custom property are conflicts; base
 * properties cannot be removed. Answers what changed, by property (REMOVED for a removal); the
 * properties' own rules (read-only, types) are judged on the outcome (GlanceFields).
 */
export function applyPatch(view: GlanceImage, ops: readonly PatchOperation[]): Map<string, GlanceValue> {
  const state = new Map<string, unknown>(Object.entries(view));
  const touched = new Set<string>();
  for (const { op, property, value } of ops) {
    const exists = state.has(property) && state.get(property) !== REMOVED;
    if (op !== 'add' && !exists && !BASE_PROPERTIES.has(property)) throw conflict(`property ${property} does not exist (${op} needs an existing property; add sets one)`);
    if (op === 'remove' && BASE_PROPERTIES.has(property)) throw forbidden(`property ${property} is a base property and cannot be removed`);
    state.set(property, op === 'remove' ? REMOVED : value);
    touched.add(property);
  }
  const changes = new Map<string, GlanceValue>();
  for (const property of touched) {
    const before = property in view ? view[property] : REMOVED;
    const after = state.get(property);
    if (JSON.stringify(before) !== JSON.stringify(after) || (before === REMOVED) !== (after === REMOVED)) changes.set(property, after);
  }
  return changes;
}

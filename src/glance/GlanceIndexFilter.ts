import type { ImageQuery } from '../catalog/ImageQuery.ts';
import { FIELD_PROPERTIES, GLANCE_READ_ONLY, isReserved } from './GlanceFields.ts';
import { BASE_PROPERTIES } from './GlanceImageView.ts';

/** The part of a VISOR list query that narrows which records are looked at. */
export type IndexFilter = Pick<ImageQuery, 'equals' | 'ranges' | 'tags' | 'properties'>;

/**
 * Glance statuses by the VISOR statuses each is kept as (deactivated: an available image with the
 * flag; an import's marks: a staged file is locked, a failed import error, see GlanceStatus.ts).
 */
const VISOR_STATUS: Readonly<Record<string, readonly string[]>> = {
  queued: ['locked', 'error'], saving: ['uploading'], active: ['available'], killed: ['error'], deactivated: ['available'],
  uploading: ['locked', 'uploading'], importing: ['uploading'],
};
/** Glance filters that are a VISOR field's equality, by VISOR field name. */
const SAME_FIELD: Readonly<Record<string, string>> = { name: 'name', owner: 'owner', id: 'id', container_format: 'container_format', disk_format: 'disk', architecture: 'architecture' };

/**
 * The Glance list filters the catalogue index can apply before any image is viewed: `name` (what
 * `openstack image show NAME` asks), `owner`, `status`, formats, `in:` lists, `tag`, sizes and custom
 * properties, in VISOR's terms. Never narrower than the Glance filters themselves, which are still
 * judged on each view: a list filtered by these walks the few candidates the index holds for them
 * instead of viewing every image.
 */
export function indexFilterOf(params: URLSearchParams): IndexFilter {
  const filter: IndexFilter = { equals: new Map(), ranges: [], tags: params.getAll('tag'), properties: new Map() };
  for (const name of new Set(params.keys())) {
    const all = params.getAll(name);
    if (all.length !== 1) continue;
    const value = all[0]!;
    const values = value.startsWith('in:') ? value.slice(3).split(',') : [value];
    if (name === 'status') {
      const mapped = values.map((v) => VISOR_STATUS[v]);
      if (mapped.every((v) => v !== undefined)) filter.equals.set('status', [...new Set(mapped.flat() as string[])]);
    } else if (name in SAME_FIELD) {
      // A disk_format of none shows as null: nothing to narrow by.
      if (!values.includes('none')) filter.equals.set(SAME_FIELD[name]!, values);
    } else if ((name === 'size_min' || name === 'size_max') && /^\d+$/.test(value)) {
      filter.ranges.push({ field: 'size', ...(name === 'size_min' ? { min: Number(value) } : { max: Number(value) }) });
    } else if (!value.startsWith('in:') && isCustomProperty(name)) {
      filter.properties.set(name, value);
    }
  }
  return filter;
}

/** A name the Glance view takes from the record's properties and nowhere else. */
function isCustomProperty(name: string): boolean {
  return !BASE_PROPERTIES.has(name) && !GLANCE_READ_ONLY.has(name) && !isReserved(name) && !(name in FIELD_PROPERTIES) && !['visibility', 'member_status', 'tag', 'size_min', 'size_max', 'limit', 'marker', 'sort', 'sort_key', 'sort_dir', 'changes-since'].includes(name);
}

import { invalid, invalidField } from '../errors/VisorError.ts';
import type { GlanceImage } from './GlanceImageView.ts';

export const GLANCE_DEFAULT_LIMIT = 25;
export const GLANCE_MAX_LIMIT = 1000;

const SORT_KEYS = new Set(['name', 'status', 'container_format', 'disk_format', 'size', 'id', 'created_at', 'updated_at', 'min_ram', 'min_disk', 'visibility', 'owner', 'virtual_size']);
const IN_KEYS = new Set(['id', 'name', 'status', 'container_format', 'disk_format']);
const DATE_KEYS = new Set(['created_at', 'updated_at']);
const DATE_OPS = new Set(['gt', 'gte', 'eq', 'neq', 'lt', 'lte']);
/** Parameters that shape the list rather than filter it. */
const PAGING = new Set(['limit', 'marker', 'sort_key', 'sort_dir', 'sort']);

type Direction = 'asc' | 'desc';

export interface GlanceListQuery {
  limit: number;
  marker: string | undefined;
  /** Which visibilities are listed: undefined means Glance's default (everything visible but community). */
  visibility: string | undefined;
  matches(image: GlanceImage): boolean;
  /** The sort keys asked for (the default: created_at desc), before id breaks ties. */
  keys: readonly (readonly [string, 'asc' | 'desc'])[];
  compare(a: GlanceImage, b: GlanceImage): number;
  /** The list's `first` link and, given the last id of a full page, its `next` (root-relative, as glanceclient needs). */
  first: string;
  next(lastId: string): string;
}

/**
 * A Glance v2 list query (GET /v2/images): limit and marker, sort_key/sort_dir or sort=k:dir,…
 * (not both), and the filters: equality on any property (custom ones too), `in:a,b` on a few,
 * `gte:<date>`-style on the dates, tag (repeatable, all must match), size_min/size_max, os_hidden
 * (hidden images are left out unless asked for), visibility, member_status.
 */
export function parseGlanceListQuery(params: URLSearchParams, caller?: string): GlanceListQuery {
  const one = (name: string): string | undefined => {
    const all = params.getAll(name);
    if (all.length > 1) throw invalidField(name, 'single', `one ${name} parameter`);
    return all[0];
  };
  const limitText = one('limit');
  let limit = GLANCE_DEFAULT_LIMIT;
  if (limitText !== undefined) {
    if (!/^\d+$/.test(limitText)) throw invalidField('limit', 'type', 'a non-negative integer');
    limit = Math.min(Number(limitText), GLANCE_MAX_LIMIT);
  }
  const marker = one('marker');
  if (params.has('changes-since')) throw invalidField('changes-since', 'supported', 'created_at or updated_at with gt:/gte:<date>', 'changes-since is not supported: filter on updated_at=gte:<date>');

  const { keys, compare } = sortOf(params);
  const tests: ((image: GlanceImage) => boolean)[] = [];
  let visibility: string | undefined;
  let hiddenAsked = false;
  for (const name of new Set(params.keys())) {
    if (PAGING.has(name)) continue;
    const values = params.getAll(name);
    if (name === 'tag') {
      tests.push((i) => values.every((t) => (i['tags'] as string[]).includes(t)));
      continue;
    }
    const value = one(name)!;
    if (name === 'visibility') {
      if (!['public', 'private', 'shared', 'community', 'all'].includes(value)) throw invalidField('visibility', 'enum', 'public, private, shared, community or all');
      visibility = value;
      if (value !== 'all') tests.push((i) => i.visibility === value);
    } else if (name === 'member_status') {
      // VISOR's grants need no acceptance: every share is accepted, none pending or rejected.
      if (!['accepted', 'pending', 'rejected', 'all'].includes(value)) throw invalidField('member_status', 'enum', 'accepted, pending, rejected or all');
      if (value === 'pending' || value === 'rejected') tests.push((i) => i.visibility !== 'shared');
    } else if (name === 'size_min' || name === 'size_max') {
      if (!/^\d+$/.test(value)) throw invalidField(name, 'type', 'a non-negative integer');
      const bound = Number(value);
      tests.push((i) => typeof i['size'] === 'number' && (name === 'size_min' ? i['size'] >= bound : i['size'] <= bound));
    } else if (name === 'os_hidden' || name === 'protected') {
      if (value !== 'true' && value !== 'false') throw invalidField(name, 'type', 'true or false');
      if (name === 'os_hidden') hiddenAsked = true;
      tests.push((i) => i[name] === (value === 'true'));
    } else if (DATE_KEYS.has(name)) {
      tests.push(dateTest(name, value));
    } else if (value.startsWith('in:') && IN_KEYS.has(name)) {
      const set = new Set(value.slice(3).split(','));
      tests.push((i) => set.has(String(i[name])));
    } else {
      tests.push((i) => i[name] !== undefined && i[name] !== null && String(i[name]) === value);
    }
  }
  // Hidden images are listed only when asked for (os_hidden=true); community ones only by visibility=community.
  if (!hiddenAsked) tests.push((i) => i['os_hidden'] !== true);
  // By default a caller's own community images are listed, as Glance does; others' only when asked for.
  if (visibility === undefined) tests.push((i) => i.visibility !== 'community' || (caller !== undefined && i.owner === caller));

  const rest = new URLSearchParams([...params].filter(([k]) => k !== 'marker'));
  const first = `/v2/images${rest.size > 0 ? `?${rest}` : ''}`;
  return {
    limit,
    marker,
    visibility,
    matches: (i) => tests.every((t) => t(i)),
    keys,
    compare,
    first,
    next: (lastId) => `/v2/images?${new URLSearchParams([...rest, ['marker', lastId]])}`,
  };
}

/** The order: sort_key (repeatable) with sort_dir (one for all or one per key), or sort=k1:asc,k2 (no direction: desc); id breaks ties. */
function sortOf(params: URLSearchParams): { keys: [string, Direction][]; compare: (a: GlanceImage, b: GlanceImage) => number } {
  const keys = params.getAll('sort_key');
  const dirs = params.getAll('sort_dir');
  const sort = params.getAll('sort');
  if (sort.length > 0 && (keys.length > 0 || dirs.length > 0)) throw invalid('sort cannot be combined with sort_key or sort_dir', [{ field: 'sort', rule: 'exclusive', expected: 'either sort=k:dir,… or sort_key/sort_dir', message: 'sort: give either sort or sort_key/sort_dir' }]);
  let order: [string, Direction][];
  if (sort.length > 0) {
    order = sort.join(',').split(',').map((part) => {
      const [key, dir = 'desc', extra] = part.split(':');
      if (extra !== undefined) throw invalidField('sort', 'pattern', 'key or key:asc or key:desc, comma-separated');
      return [key!, direction('sort', dir)];
    });
  } else {
    if (dirs.length > 1 && dirs.length !== keys.length) throw invalidField('sort_dir', 'count', 'one sort_dir for all keys or one per sort_key');
    const all = keys.length > 0 ? keys : ['created_at'];
    order = all.map((key, i) => [key, direction('sort_dir', dirs[dirs.length > 1 ? i : 0] ?? 'desc')]);
  }
  for (const [key] of order) if (!SORT_KEYS.has(key)) throw invalidField('sort_key', 'enum', `one of ${[...SORT_KEYS].join(', ')}`, `sort_key: cannot sort on ${key}`);
  const asked = [...order];
  if (!order.some(([key]) => key === 'id')) order.push(['id', order[order.length - 1]![1]]);
  const compare = (a: GlanceImage, b: GlanceImage) => {
    for (const [key, dir] of order) {
      const c = compareValues(a[key], b[key]);
      if (c !== 0) return dir === 'asc' ? c : -c;
    }
    return 0;
  };
  return { keys: asked, compare };
}

function direction(field: string, dir: string): Direction {
  if (dir !== 'asc' && dir !== 'desc') throw invalidField(field, 'enum', 'asc or desc');
  return dir;
}

/** Nulls first, numbers as numbers, the rest as strings (Glance's dates sort as strings). */
function compareValues(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function dateTest(name: string, value: string): (image: GlanceImage) => boolean {
  const m = /^(?:(gt|gte|eq|neq|lt|lte):)?(.+)$/.exec(value)!;
  const op = m[1] ?? 'eq';
  const when = Date.parse(m[2]!);
  if (!DATE_OPS.has(op) || Number.isNaN(when)) throw invalidField(name, 'pattern', '[gt|gte|eq|neq|lt|lte:]<ISO 8601 date-time>');
  return (i) => {
    const t = Date.parse(String(i[name]));
    switch (op) {
      case 'gt': return t > when;
      case 'gte': return t >= when;
      case 'lt': return t < when;
      case 'lte': return t <= when;
      case 'neq': return t !== when;
      default: return t === when;
    }
  };
}

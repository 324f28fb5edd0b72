import { invalidField } from '../errors/VisorError.ts';
import { assertImageId } from './CatalogLayout.ts';
import type { ImageSchema } from './ImageSchema.ts';

export type SortDirection = 'asc' | 'desc';

/** The order lists have when a query names none: newest first. */
export const DEFAULT_ORDER = { sort: 'created_at', dir: 'desc' } as const;
type Scalar = string | number;

export interface RangeFilter {
  field: string;
  min?: Scalar;
  max?: Scalar;
}

/** A parsed list request: every filter must hold; values of one equality field are alternatives. */
export interface ImageQuery {
  equals: Map<string, Scalar[]>;
  ranges: RangeFilter[];
  tags: string[];
  properties: Map<string, string>;
  /** Free-text search, lower-cased: the name contains it, or the id is it. */
  text?: string;
  sort: string;
  dir: SortDirection;
  limit: number;
  marker?: string;
}

// Glance's default page: small pages keep list latency flat however large the catalogue.
export const DEFAULT_LIMIT = 25;
export const MAX_LIMIT = 1000;
const RESERVED = new Set(['sort', 'dir', 'limit', 'marker', 'tag', 'tags', 'q']);
/** Longest search text: as long as the longest name. */
export const MAX_SEARCH_LENGTH = 255;
/** Fields whose values are structured or per-instance: no equality filter on them. */
const UNFILTERABLE = new Set(['locations', 'properties', 'uri', 'description', 'accessed_at', 'access_count', 'tags']);
const SORTABLE = new Set(['id', 'name', 'architecture', 'status', 'size', 'virtual_size', 'access', 'created_at', 'updated_at', 'uploaded_at', 'owner', 'type', 'disk', 'container_format', 'store', 'min_disk', 'min_ram', 'series']);

export type QueryParams = Record<string, string | string[] | undefined>;

function values(v: string | string[] | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

function single(params: QueryParams, key: string): string | undefined {
  const v = values(params[key]);
  if (v.length > 1) throw invalidField(key, 'single', 'one value', `${key} may be given once`);
  return v[0];
}

/** Parses query parameters against the image schema; every unknown or malformed one is a 400. */
export function parseImageQuery(params: QueryParams, schema: ImageSchema): ImageQuery {
  const query: ImageQuery = { equals: new Map(), ranges: [], tags: [], properties: new Map(), ...DEFAULT_ORDER, limit: DEFAULT_LIMIT };

  const sort = single(params, 'sort');
  if (sort !== undefined) {
    if (!SORTABLE.has(sort)) throw invalidField('sort', 'enum', `one of ${[...SORTABLE].join(', ')}`, `sort: cannot sort by "${sort}"`);
    query.sort = sort;
  }
  const dir = single(params, 'dir');
  if (dir !== undefined) {
    if (dir !== 'asc' && dir !== 'desc') throw invalidField('dir', 'enum', 'asc or desc');
    query.dir = dir;
  }
  const limit = single(params, 'limit');
  if (limit !== undefined) {
    const n = Number(limit);
    if (!/^\d+$/.test(limit) || n < 1 || n > MAX_LIMIT) throw invalidField('limit', 'range', `an integer from 1 to ${MAX_LIMIT}`);
    query.limit = n;
  }
  const marker = single(params, 'marker');
  if (marker !== undefined) query.marker = assertImageId(marker, 'marker');
  query.tags = [...values(params['tag']), ...values(params['tags'])];
  const text = single(params, 'q');
  if (text !== undefined && text !== '') {
    if (text.length > MAX_SEARCH_LENGTH) throw invalidField('q', 'maxLength', `at most ${MAX_SEARCH_LENGTH} characters`);
    query.text = text.toLowerCase();
  }

  for (const [key, raw] of Object.entries(params)) {
    if (RESERVED.has(key) || raw === undefined) continue;
    if (key.startsWith('property.')) {
      const v = single(params, key);
      if (v !== undefined) query.properties.set(key.slice('property.'.length), v);
      continue;
    }
    const range = /^(.+)_(min|max)$/.exec(key);
    if (range?.[1] && schema.fields.has(range[1])) {
      const field = range[1];
      const bound = parseRangeValue(field, single(params, key) ?? '', schema, key);
      let filter = query.ranges.find((r) => r.field === field);
      if (!filter) query.ranges.push((filter = { field }));
      if (range[2] === 'min') filter.min = bound;
      else filter.max = bound;
      continue;
    }
    if (!schema.fields.has(key) || UNFILTERABLE.has(key)) {
      throw invalidField(key, 'filter', 'a filterable image field, <field>_min/_max, tag, property.<key>, sort, dir, limit or marker', `${key}: not a filter`);
    }
    query.equals.set(key, values(raw).map((v) => parseEqualValue(key, v, schema)));
  }
  return query;
}

function parseEqualValue(field: string, value: string, schema: ImageSchema): Scalar {
  const type = schema.fieldType(field);
  if (type === 'integer') {
    if (!/^\d+$/.test(value)) throw invalidField(field, 'type', 'an integer');
    return Number(value);
  }
  const allowed = schema.schema.properties[field]?.enum;
  if (allowed && !allowed.includes(value)) {
    throw invalidField(field, 'enum', `one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  return value;
}

function parseRangeValue(field: string, value: string, schema: ImageSchema, key: string): Scalar {
  if (schema.fieldType(field) === 'integer') {
    if (!/^\d+$/.test(value)) throw invalidField(key, 'type', 'an integer');
    return Number(value);
  }
  if (schema.isDateField(field)) {
    const t = Date.parse(value);
    if (Number.isNaN(t)) throw invalidField(key, 'format', 'an ISO 8601 date such as 2026-01-31 or 2026-01-31T12:00:00Z');
    return new Date(t).toISOString();
  }
  throw invalidField(key, 'range', 'a range only on integer or date fields');
}

/** Query parameters that reproduce a query, for the next-page link. */
export function queryToParams(query: ImageQuery, marker: string): URLSearchParams {
  const p = new URLSearchParams();
  for (const [field, vs] of query.equals) for (const v of vs) p.append(field, String(v));
  for (const r of query.ranges) {
    if (r.min !== undefined) p.append(`${r.field}_min`, String(r.min));
    if (r.max !== undefined) p.append(`${r.field}_max`, String(r.max));
  }
  for (const t of query.tags) p.append('tag', t);
  for (const [k, v] of query.properties) p.append(`property.${k}`, v);
  if (query.text !== undefined) p.set('q', query.text);
  p.set('sort', query.sort);
  p.set('dir', query.dir);
  p.set('limit', String(query.limit));
  p.set('marker', marker);
  return p;
}

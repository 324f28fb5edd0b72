import { isDeepStrictEqual } from 'node:util';
import { IMMUTABLE_FIELDS } from './ChangeChecker.ts';

export type Preference = 'none' | 'ours' | 'theirs';

export interface FieldConflict {
  field: string;
  base: unknown;
  ours: unknown;
  theirs: unknown;
  /** What the merge kept, when a preference resolved it. */
  kept?: 'ours' | 'theirs';
}

export interface MergeResult {
  merged: Record<string, unknown>;
  /** Conflicts a preference resolved, and (with preference 'none') the ones left for a person. */
  conflicts: FieldConflict[];
  clean: boolean;
}

type Json = Record<string, unknown>;

function setMerge(base: unknown, ours: unknown, theirs: unknown): string[] {
  const b = new Set(Array.isArray(base) ? (base as string[]) : []);
  const o = Array.isArray(ours) ? (ours as string[]) : [];
  const t = Array.isArray(theirs) ? (theirs as string[]) : [];
  const removed = new Set([...b].filter((x) => !o.includes(x) || !t.includes(x)));
  const out: string[] = [];
  for (const x of [...b, ...o, ...t]) if (!removed.has(x) && !out.includes(x)) out.push(x);
  return out;
}

/**
 * Three-way merge of one image record, field by field: a field changed on one side only takes that
 * change; updated_at takes the later time; tags merge as sets and properties key by key; anything
 * else changed differently on both sides is a conflict. Immutable facts are never merged
 * automatically, whatever the preference: two different checksums are two different images.
 */
export function mergeRecords(base: Json, ours: Json, theirs: Json, prefer: Preference = 'none', prefix = ''): MergeResult {
  const merged: Json = {};
  const conflicts: FieldConflict[] = [];
  let clean = true;
  const fields = new Set([...Object.keys(base), ...Object.keys(ours), ...Object.keys(theirs)]);
  for (const field of fields) {
    const [b, o, t] = [base[field], ours[field], theirs[field]];
    let value: unknown;
    if (isDeepStrictEqual(o, t)) value = o;
    else if (isDeepStrictEqual(o, b)) value = t;
    else if (isDeepStrictEqual(t, b)) value = o;
    else if (prefix === '' && field === 'updated_at' && typeof o === 'string' && typeof t === 'string') value = o > t ? o : t;
    else if (prefix === '' && field === 'tags') value = setMerge(b, o, t);
    else if (prefix === '' && field === 'properties' && isObject(o) && isObject(t)) {
      const inner = mergeRecords(isObject(b) ? b : {}, o, t, prefer, 'properties.');
      value = inner.merged;
      conflicts.push(...inner.conflicts);
      clean &&= inner.clean;
    } else {
      const immutable = prefix === '' && (IMMUTABLE_FIELDS as readonly string[]).includes(field);
      const conflict: FieldConflict = { field: prefix + field, base: b, ours: o, theirs: t };
      if (prefer === 'none' || immutable) {
        clean = false;
        value = o;
      } else {
        conflict.kept = prefer;
        value = prefer === 'ours' ? o : t;
      }
      conflicts.push(conflict);
    }
    if (value !== undefined) merged[field] = value;
  }
  return { merged, conflicts, clean };
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

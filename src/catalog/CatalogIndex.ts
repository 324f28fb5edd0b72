import type { ImageRecord } from '../api/ImageRecord.ts';
import { DEFAULT_ORDER, type ImageQuery, type SortDirection } from './ImageQuery.ts';
import { invalidField } from '../errors/VisorError.ts';
import { ownerKey } from './CatalogRules.ts';

type Value = string | number | undefined;

/** Fields with few distinct values per image, indexed by value so selective filters skip the scan. */
const INDEXED_FIELDS = ['status', 'access', 'architecture', 'disk', 'type', 'container_format', 'owner', 'store', 'series', 'name', 'kernel', 'ramdisk'] as const;

export interface Page {
  items: ImageRecord[];
  /** id of the last item when more follow. */
  nextMarker?: string;
}

function compareValues(a: Value, b: Value): number {
  // Missing values sort before any value, in either direction's base order.
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

function fieldValue(record: Partial<ImageRecord>, field: string): Value {
  return (record as unknown as Record<string, Value>)[field];
}

/** The order of a list sorted by `sort`: ties break on id in the same direction, so every order is total and markers are exact. */
export function recordOrder(sort: string, dir: SortDirection): (a: ImageRecord, b: ImageRecord) => number {
  const sign = dir === 'asc' ? 1 : -1;
  return (a, b) => sign * (compareValues(fieldValue(a, sort), fieldValue(b, sort)) || compareValues(a.id, b.id));
}

/**
 * The positions of `records` in recordOrder(sort, dir). Each record's value is read once instead of at
 * every comparison (about 1.7 million of them for 100,000 records): half the cost of sorting with
 * recordOrder itself. The values sit in two arrays and the positions are sorted in place: no object
 * per record, which at 100,000 records made 5 MB of survivors that grew the young generation just
 * before ready, and sorted ~20% slower. The records need only their id and the sorted field.
 */
export function sortedPositions(records: readonly (Partial<ImageRecord> & Pick<ImageRecord, 'id'>)[], sort: string, dir: SortDirection): Int32Array<ArrayBuffer> {
  const sign = dir === 'asc' ? 1 : -1;
  const n = records.length;
  const values = new Array<Value>(n);
  const ids = new Array<string>(n);
  const positions = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = records[i]!;
    values[i] = fieldValue(r, sort);
    ids[i] = r.id;
    positions[i] = i;
  }
  return positions.sort((a, b) => sign * (compareValues(values[a], values[b]) || compareValues(ids[a], ids[b])));
}

/** Two lists sorted by `order`, merged into one. */
export function mergeSorted(a: readonly ImageRecord[], b: readonly ImageRecord[], order: (a: ImageRecord, b: ImageRecord) => number): ImageRecord[] {
  const out = new Array<ImageRecord>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = order(a[i]!, b[j]!) <= 0 ? a[i++]! : b[j++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/** A catalogue's records as its load gives them: `newestFirst`, if given, the same in DEFAULT_ORDER. */
export interface LoadedRecords {
  records: ImageRecord[];
  newestFirst?: ImageRecord[];
}

interface SortedOrder {
  cmp: (a: ImageRecord, b: ImageRecord) => number;
  list: ImageRecord[];
}

/**
 * The catalogue in memory: every read is served from here. Value indexes and sorted orders are built
 * on first use (start-up stays fast at 100,000 images) and from then on kept current on every change:
 * a write costs a binary search and a splice per order, never a re-sort before the next read.
 */
export class CatalogIndex {
  private readonly records = new Map<string, ImageRecord>();
  private readonly byValue = new Map<string, Map<Value, Set<string>>>();
  private readonly sorted = new Map<string, SortedOrder>();
  /**
   * Images by the objects they name under another key than their own id (registered ones: rare), by
   * store and key; built on first use. With the record whose id is the key, these are all an object's
   * namers, found without reading every record (~5 ms at 100,000) on each link, delete or download.
   */
  private borrowed: Map<string, string[]> | undefined;
  private changes = 0;

  /**
   * The index of two catalogues' records, `preferred`'s record winning where both hold an id (each
   * such id goes to `onBoth`). Built at once, not by puts: once the default order is sorted (a first
   * start's scan sorts it), each put splices into it, and 10,000 of them into 90,000 took ~0.1-0.3 s
   * just before ready.
   */
  static ofBoth(other: LoadedRecords, preferred: LoadedRecords, onBoth: (id: string) => void): CatalogIndex {
    const preferredIds = new Set(preferred.records.map((r) => r.id));
    let both = false;
    for (const r of other.records) {
      if (!preferredIds.has(r.id)) continue;
      both = true;
      onBoth(r.id);
    }
    const kept = (list: ImageRecord[]) => (both ? list.filter((r) => !preferredIds.has(r.id)) : list);
    let newestFirst: ImageRecord[] | undefined;
    if (other.newestFirst) {
      const theirs = preferred.newestFirst ?? Array.from(sortedPositions(preferred.records, DEFAULT_ORDER.sort, DEFAULT_ORDER.dir), (i) => preferred.records[i]!);
      newestFirst = mergeSorted(kept(other.newestFirst), theirs, recordOrder(DEFAULT_ORDER.sort, DEFAULT_ORDER.dir));
    }
    return new CatalogIndex([...kept(other.records), ...preferred.records], newestFirst);
  }

  /** `newestFirst`, if given, holds the same records in DEFAULT_ORDER (a first start's scan sorts them on two threads). */
  constructor(records: Iterable<ImageRecord> = [], newestFirst?: ImageRecord[]) {
    for (const r of records) this.records.set(r.id, r);
    if (newestFirst) this.sorted.set(`${DEFAULT_ORDER.sort}:${DEFAULT_ORDER.dir}`, { cmp: recordOrder(DEFAULT_ORDER.sort, DEFAULT_ORDER.dir), list: newestFirst });
  }

  get size(): number {
    return this.records.size;
  }

  /** Grows with every put and delete: what was derived from the records may be kept while it stays. */
  get version(): number {
    return this.changes;
  }

  get(id: string): ImageRecord | undefined {
    return this.records.get(id);
  }

  all(): IterableIterator<ImageRecord> {
    return this.records.values();
  }

  put(record: ImageRecord): void {
    this.changes++;
    const old = this.records.get(record.id);
    if (old) this.unindex(old);
    this.records.set(record.id, record);
    if (this.borrowed) this.borrow(this.borrowed, record);
    for (const [field, byValue] of this.byValue) addTo(byValue, fieldValue(record, field), record.id);
    for (const order of this.sorted.values()) order.list.splice(upperBound(order.list, record, order.cmp), 0, record);
  }

  delete(id: string): void {
    const old = this.records.get(id);
    if (!old) return;
    this.changes++;
    this.unindex(old);
    this.records.delete(id);
  }

  private unindex(record: ImageRecord): void {
    if (this.borrowed) {
      for (const l of record.locations ?? []) {
        if (l.key === record.id) continue;
        const object = objectName(l.store, l.key);
        const kept = (this.borrowed.get(object) ?? []).filter((id) => id !== record.id);
        if (kept.length > 0) this.borrowed.set(object, kept);
        else this.borrowed.delete(object);
      }
    }
    for (const [field, byValue] of this.byValue) byValue.get(fieldValue(record, field))?.delete(record.id);
    for (const order of this.sorted.values()) {
      const i = upperBound(order.list, record, order.cmp) - 1;
      if (order.list[i] === record) order.list.splice(i, 1);
    }
  }

  private valueIndex(field: string): Map<Value, Set<string>> | undefined {
    if (!(INDEXED_FIELDS as readonly string[]).includes(field)) return undefined;
    let byValue = this.byValue.get(field);
    if (!byValue) {
      byValue = new Map();
      for (const r of this.records.values()) addTo(byValue, fieldValue(r, field), r.id);
      this.byValue.set(field, byValue);
    }
    return byValue;
  }

  private sortedBy(sort: string, dir: SortDirection): ImageRecord[] {
    const key = `${sort}:${dir}`;
    let order = this.sorted.get(key);
    if (!order) {
      const records = [...this.records.values()];
      order = { cmp: recordOrder(sort, dir), list: Array.from(sortedPositions(records, sort, dir), (i) => records[i]!) };
      this.sorted.set(key, order);
    }
    return order.list;
  }

  /** Builds the default order ahead of the first request. */
  warm(): void {
    this.sortedBy(DEFAULT_ORDER.sort, DEFAULT_ORDER.dir);
  }

  /** One page of the records that match the query and that `visible` allows, in the query's order. */
  query(query: ImageQuery, visible: (r: ImageRecord) => boolean): Page {
    // The query's own test first: it is a few field comparisons, where whether the caller may see a
    // record is an access decision (grants, the site's overlay and trust policy), and a selective
    // filter rejects most records.
    const wanted = predicateOf(query);
    const matches = (r: ImageRecord): boolean => wanted(r) && visible(r);
    const cmp = recordOrder(query.sort, query.dir);
    let after: ImageRecord | undefined;
    if (query.marker !== undefined) {
      after = this.records.get(query.marker);
      if (!after || !visible(after)) throw invalidField('marker', 'exists', 'the id of an image from the previous page', `marker: no image ${query.marker}`);
    }
    const candidates = this.smallestCandidateSet(query);
    const out: ImageRecord[] = [];
    if (candidates && candidates.size < this.records.size / 16) {
      // Selective filter: sort the few candidates rather than walk the whole order.
      const list: ImageRecord[] = [];
      for (const id of candidates) {
        const r = this.records.get(id)!;
        if ((!after || cmp(r, after) > 0) && matches(r)) list.push(r);
      }
      list.sort(cmp);
      out.push(...list.slice(0, query.limit + 1));
    } else {
      const list = this.sortedBy(query.sort, query.dir);
      let i = after ? upperBound(list, after, cmp) : 0;
      for (; i < list.length && out.length <= query.limit; i++) {
        const r = list[i]!;
        if (matches(r)) out.push(r);
      }
    }
    if (out.length > query.limit) {
      out.length = query.limit;
      return { items: out, nextMarker: out[out.length - 1]!.id };
    }
    return { items: out };
  }

  private smallestCandidateSet(query: ImageQuery): Set<string> | undefined {
    let best: Set<string> | undefined;
    for (const [field, wanted] of query.equals) {
      const byValue = this.valueIndex(field);
      if (!byValue) continue;
      const set = wanted.length === 1 ? (byValue.get(wanted[0]) ?? new Set<string>()) : new Set(wanted.flatMap((v) => [...(byValue.get(v) ?? [])]));
      if (!best || set.size < best.size) best = set;
    }
    return best;
  }


  /** Images whose locations name this object (other than `except`). */
  namersOf(store: string, key: string, except?: string): ImageRecord[] {
    if (!this.borrowed) {
      this.borrowed = new Map();
      for (const r of this.records.values()) this.borrow(this.borrowed, r);
    }
    const ids = [...(this.borrowed.get(objectName(store, key)) ?? [])];
    const keyed = this.records.get(key);
    if (keyed?.locations?.some((l) => l.store === store && l.key === key)) ids.push(keyed.id);
    return ids.filter((id) => id !== except).map((id) => this.records.get(id)!);
  }

  private borrow(borrowed: Map<string, string[]>, record: ImageRecord): void {
    for (const l of record.locations ?? []) {
      if (l.key === record.id) continue;
      const object = objectName(l.store, l.key);
      const ids = borrowed.get(object);
      if (!ids) borrowed.set(object, [record.id]);
      else if (!ids.includes(record.id)) ids.push(record.id);
    }
  }

  /** The newest available image of a series that `visible` allows. */
  latestOfSeries(series: string, visible: (r: ImageRecord) => boolean): ImageRecord | undefined {
    let best: ImageRecord | undefined;
    for (const id of this.valueIndex('series')!.get(series) ?? []) {
      const r = this.records.get(id)!;
      if (r.status !== 'available' || !visible(r)) continue;
      if (!best || newerInSeries(r, best)) best = r;
    }
    return best;
  }

  /** The owners of the images of a series that `visible` allows, as `nameOf` names them. */
  ownersOfSeries(series: string, visible: (r: ImageRecord) => boolean, nameOf: (r: ImageRecord) => string): Set<string> {
    const owners = new Set<string>();
    for (const id of this.valueIndex('series')!.get(series) ?? []) {
      const r = this.records.get(id)!;
      if (visible(r)) owners.add(nameOf(r));
    }
    return owners;
  }

  /** The images of this owner (an ownerKey) in a series with this name (the rule unique-in-series). */
  namesakes(series: string, owner: string, name: string): ImageRecord[] {
    const found: ImageRecord[] = [];
    for (const id of this.valueIndex('series')!.get(series) ?? []) {
      const r = this.records.get(id)!;
      if (r.name === name && ownerKey(r) === owner) found.push(r);
    }
    return found;
  }
}

function objectName(store: string, key: string): string {
  return `${store}\u0000${key}`;
}

function addTo(byValue: Map<Value, Set<string>>, value: Value, id: string): void {
  let ids = byValue.get(value);
  if (!ids) byValue.set(value, (ids = new Set()));
  ids.add(id);
}

/** First index whose record sorts strictly after `after`. */
function upperBound(list: ImageRecord[], after: ImageRecord, cmp: (a: ImageRecord, b: ImageRecord) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid]!, after) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Which of two images of a series is the later: the later upload, ties broken by id (so one answer, always). */
export function newerInSeries(a: ImageRecord, b: ImageRecord): boolean {
  return compareValues(a.uploaded_at, b.uploaded_at) > 0 || (a.uploaded_at === b.uploaded_at && a.id > b.id);
}

/**
 * The query's own test of a record, built once per query with only the checks it asks for: a walk of
 * 100,000 records with a selective filter (a search that matches little) spent most of its time
 * iterating the query's empty maps and lists for every record.
 */
function predicateOf(q: ImageQuery): (r: ImageRecord) => boolean {
  const checks: Array<(r: ImageRecord) => boolean> = [];
  for (const [field, wanted] of q.equals) checks.push((r) => wanted.includes(fieldValue(r, field) as string | number));
  for (const range of q.ranges) {
    checks.push((r) => {
      const v = fieldValue(r, range.field);
      return v !== undefined && (range.min === undefined || v >= range.min) && (range.max === undefined || v <= range.max);
    });
  }
  if (q.tags.length > 0) {
    checks.push((r) => {
      const tags = r.tags ?? [];
      return q.tags.every((t) => tags.includes(t));
    });
  }
  for (const [k, v] of q.properties) checks.push((r) => r.properties?.[k] === v);
  const text = q.text;
  if (text !== undefined) checks.push((r) => r.id === text || r.name.toLowerCase().includes(text));
  if (checks.length === 0) return () => true;
  if (checks.length === 1) return checks[0]!;
  return (r) => checks.every((check) => check(r));
}

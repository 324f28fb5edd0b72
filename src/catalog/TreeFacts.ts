import type { RecordFacts } from './CatalogFacts.ts';
import { idFromPath } from './CatalogLayout.ts';

export type Reference = { id: string; as: 'kernel' | 'ramdisk' };

/**
 * What the rules across records need to know of one version of a catalogue: its files, and by
 * record the series names and kernel/ramdisk references. Built once from a full listing, then kept
 * current change by change, so that a long-lived checker (a daemon's syncs) pays for what changed.
 */
export class TreeFacts {
  /** Every file: path → blob id. */
  readonly entries = new Map<string, string>();
  private readonly recordFacts = new Map<string, RecordFacts>();
  private readonly seriesNames = new Map<string, Set<string>>();
  private readonly references = new Map<string, Reference[]>();
  private readonly byLowerCase = new Map<string, string[]>();

  constructor(entries: Map<string, string>, factsByPath: Map<string, RecordFacts>) {
    for (const [path, oid] of entries) this.set(path, oid, factsByPath.get(path));
  }

  /** Adds or replaces a file; `facts` for image records. */
  set(path: string, oid: string, facts: RecordFacts | undefined): void {
    if (this.entries.has(path)) this.delete(path);
    this.entries.set(path, oid);
    addTo(this.byLowerCase, path.toLowerCase(), path);
    const id = facts ? idFromPath(path) : undefined;
    if (!facts || !id) return;
    this.recordFacts.set(path, facts);
    if (facts.series !== undefined && facts.name !== undefined) addToSet(this.seriesNames, seriesKey(facts.series, facts.name), id);
    for (const as of ['kernel', 'ramdisk'] as const) {
      const ref = facts[as];
      if (ref !== undefined) addTo(this.references, ref, { id, as });
    }
  }

  delete(path: string): void {
    if (!this.entries.delete(path)) return;
    removeFrom(this.byLowerCase, path.toLowerCase(), (p) => p === path);
    const facts = this.recordFacts.get(path);
    const id = idFromPath(path);
    if (!facts || !id) return;
    this.recordFacts.delete(path);
    if (facts.series !== undefined && facts.name !== undefined) {
      const key = seriesKey(facts.series, facts.name);
      this.seriesNames.get(key)?.delete(id);
      if (this.seriesNames.get(key)?.size === 0) this.seriesNames.delete(key);
    }
    for (const as of ['kernel', 'ramdisk'] as const) {
      const ref = facts[as];
      if (ref !== undefined) removeFrom(this.references, ref, (r) => r.id === id && r.as === as);
    }
  }

  /** Ids of the records of a series with this name. */
  namesakes(series: string, name: string): string[] {
    return [...(this.seriesNames.get(seriesKey(series, name)) ?? [])];
  }

  /** Records that name this image as their kernel or ramdisk. */
  referrersOf(id: string): Reference[] {
    return this.references.get(id) ?? [];
  }

  /** Other files whose paths differ from this one only in case. */
  caseTwins(path: string): string[] {
    return (this.byLowerCase.get(path.toLowerCase()) ?? []).filter((p) => p !== path);
  }
}

function seriesKey(series: string, name: string): string {
  return `${series}\u0000${name}`;
}

function addTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function addToSet(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (set) set.add(value);
  else map.set(key, new Set([value]));
}

function removeFrom<T>(map: Map<string, T[]>, key: string, match: (value: T) => boolean): void {
  const list = map.get(key);
  if (!list) return;
  const kept = list.filter((v) => !match(v));
  if (kept.length > 0) map.set(key, kept);
  else map.delete(key);
}

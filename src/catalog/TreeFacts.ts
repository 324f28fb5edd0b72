import type { RecordFacts } from './CatalogFacts.ts';
import { idFromPath } from './CatalogLayout.ts';
import { ownerKey, seriesNameKey } from './CatalogRules.ts';

export type Reference = { id: string; as: 'kernel' | 'ramdisk' };

/**
 * What the rules across records need to know of one version of a catalogue: its files, and by
 * record the series names and kernel/ramdisk references. Built once from a full listing, then kept
 * current change by change, so that a long-lived checker (a daemon's syncs) pays for what changed.
 */
export class TreeFacts {
  /** Every file: path → blob id. */
  readonly entries: Map<string, string>;
  /** Facts of the image records, by path. */
  private readonly recordFacts: Map<string, RecordFacts>;
  private readonly seriesNames = new Map<string, string[]>();
  private readonly references = new Map<string, Reference[]>();
  /** Case-folded path → the path; a second path with the same folding goes to `caseCollisions` (rare). */
  private readonly byLowerCase = new Map<string, string>();
  private readonly caseCollisions = new Map<string, string[]>();

  /** Takes both maps over (no copies: at 100,000 files each copy costs tens of milliseconds). */
  constructor(entries: Map<string, string>, factsByPath: Map<string, RecordFacts>) {
    this.entries = entries;
    this.recordFacts = factsByPath;
    for (const path of entries.keys()) this.foldCase(path);
    for (const [path, facts] of factsByPath) this.index(path, facts);
  }

  /** The facts of the image record at this path. */
  factsOf(path: string): RecordFacts | undefined {
    return this.recordFacts.get(path);
  }

  /** Adds or replaces a file; `facts` for image records. */
  set(path: string, oid: string, facts: RecordFacts | undefined): void {
    if (this.entries.has(path)) this.delete(path);
    this.entries.set(path, oid);
    this.foldCase(path);
    if (!facts) return;
    this.recordFacts.set(path, facts);
    this.index(path, facts);
  }

  private foldCase(path: string): void {
    const folded = path.toLowerCase();
    if (this.byLowerCase.has(folded)) addTo(this.caseCollisions, folded, path);
    else this.byLowerCase.set(folded, path);
  }

  private index(path: string, facts: RecordFacts): void {
    const id = idFromPath(path);
    if (!id) return;
    if (facts.series !== undefined && facts.name !== undefined) addTo(this.seriesNames, seriesNameKey(facts.series, ownerKey({ owner: facts.owner ?? '', origin: facts.origin }), facts.name), id);
    for (const as of ['kernel', 'ramdisk'] as const) {
      const ref = facts[as];
      if (ref !== undefined) addTo(this.references, ref, { id, as });
    }
  }

  delete(path: string): void {
    if (!this.entries.delete(path)) return;
    const folded = path.toLowerCase();
    if (this.byLowerCase.get(folded) === path) {
      const [next, ...rest] = this.caseCollisions.get(folded) ?? [];
      if (next === undefined) this.byLowerCase.delete(folded);
      else {
        this.byLowerCase.set(folded, next);
        if (rest.length > 0) this.caseCollisions.set(folded, rest);
        else this.caseCollisions.delete(folded);
      }
    } else removeFrom(this.caseCollisions, folded, (p) => p === path);
    const facts = this.recordFacts.get(path);
    this.recordFacts.delete(path);
    const id = idFromPath(path);
    if (!facts || !id) return;
    if (facts.series !== undefined && facts.name !== undefined) {
      removeFrom(this.seriesNames, seriesNameKey(facts.series, ownerKey({ owner: facts.owner ?? '', origin: facts.origin }), facts.name), (other) => other === id);
    }
    for (const as of ['kernel', 'ramdisk'] as const) {
      const ref = facts[as];
      if (ref !== undefined) removeFrom(this.references, ref, (r) => r.id === id && r.as === as);
    }
  }

  /** Ids of the records of this owner (an ownerKey) in a series with this name. */
  namesakes(series: string, owner: string, name: string): string[] {
    return this.seriesNames.get(seriesNameKey(series, owner, name)) ?? [];
  }

  /** Records that name this image as their kernel or ramdisk. */
  referrersOf(id: string): Reference[] {
    return this.references.get(id) ?? [];
  }

  /** Other files whose paths differ from this one only in case. */
  caseTwins(path: string): string[] {
    const folded = path.toLowerCase();
    const first = this.byLowerCase.get(folded);
    return [...(first === undefined ? [] : [first]), ...(this.caseCollisions.get(folded) ?? [])].filter((p) => p !== path);
  }
}

function addTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function removeFrom<T>(map: Map<string, T[]>, key: string, match: (value: T) => boolean): void {
  const list = map.get(key);
  if (!list) return;
  const kept = list.filter((v) => !match(v));
  if (kept.length > 0) map.set(key, kept);
  else map.delete(key);
}

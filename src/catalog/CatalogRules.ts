import type { ImageRecord } from './ImageRecord.ts';
import type { FieldProblem } from '../errors/VisorError.ts';

/** Looks up records by id, so the rules run the same over the daemon's index and a scanned tree. */
export type RecordLookup = (id: string) => ImageRecord | undefined;

/**
 * Rules that span records: kernel and ramdisk must name existing images of that type.
 * The schema cannot express them; the daemon, `catalog validate` and the hooks share this one copy.
 */
export function referenceProblems(record: ImageRecord, lookup: RecordLookup): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of ['kernel', 'ramdisk'] as const) {
    const ref = record[field];
    if (ref === undefined) continue;
    const target = lookup(ref);
    if (!target) {
      problems.push({ field, rule: 'reference', expected: `the id of an existing ${field} image`, message: `${field}: no image ${ref}` });
    } else if (target.type !== field) {
      problems.push({ field, rule: 'reference', expected: `an image of type ${field}`, message: `${field}: image ${ref} has type ${target.type ?? 'none'}, not ${field}` });
    }
  }
  return problems;
}

/** Images whose kernel or ramdisk is the given id: they forbid its deletion. */
export function referrers(id: string, all: Iterable<ImageRecord>): ImageRecord[] {
  const found: ImageRecord[] = [];
  for (const r of all) if (r.kernel === id || r.ramdisk === id) found.push(r);
  return found;
}

/** Within a series every image has its own name: duplicates, each paired with the record it names. */
export function seriesNameProblems(records: Iterable<ImageRecord>): Array<[string, FieldProblem]> {
  const seen = new Map<string, string>();
  const out: Array<[string, FieldProblem]> = [];
  for (const r of records) {
    if (r.series === undefined) continue;
    const key = `${r.series}\u0000${r.name}`;
    const first = seen.get(key);
    if (first === undefined) seen.set(key, r.id);
    else out.push([r.id, { field: 'name', rule: 'unique-in-series', expected: `a name not used by another image of series ${r.series}`, message: `image ${first} of series ${r.series} is already named ${JSON.stringify(r.name)}` }]);
  }
  return out;
}

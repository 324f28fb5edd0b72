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

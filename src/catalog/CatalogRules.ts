import type { ImageRecord } from '../api/ImageRecord.ts';
import type { FieldProblem } from '../errors/VisorError.ts';
import { inspectionProblems } from '../inspection/InspectionVerdict.ts';
import { scanProblems } from '../scanning/Quarantine.ts';

/**
 * What the rules may know of the other records: the daemon's index (as far as the caller may see),
 * a scanned working tree, or a commit's tree in a hook.
 */
export interface RecordLookup {
  /** The record with this id; undefined is reported as missing. */
  record(id: string): ImageRecord | undefined;
  /** How to name the other images of `owner` in `series` called `name` than `self`: their ids. */
  namesakes(series: string, owner: string, name: string, self: string): string[];
}

/**
 * The rules that span records, which the schema cannot express: kernel and ramdisk name existing
 * images of that type, and within a series each owner's images have names of their own. The
 * daemon's writes, `catalog validate`, the hooks and the sync checks all judge a record with this
 * one function.
 *
 * A series is a namespace per owner (qualified by the owner's instance: ownerKey), as a repository is per account in an OCI registry: a name is
 * judged only against images of the same owner, all of which the owner sees. A rule over every
 * owner's images would tell a caller that an image they may not see holds a name (the refusal
 * itself is the leak), and would let a stranger take a name first with a private image.
 *
 * With `before` (a change of a record), the name is judged only when the change gives it: a change of
 * anything else is not refused for a namesake that came from elsewhere (a merge, a sync).
 */
export function recordProblems(record: ImageRecord, lookup: RecordLookup, before?: ImageRecord): FieldProblem[] {
  const problems = [...consistencyProblems(record, Date.now()), ...referenceProblems(record, lookup), ...lineageProblems(record, lookup, before), ...inspectionProblems(record), ...scanProblems(record)];
  const named = before === undefined || before.series !== record.series || before.name !== record.name || ownerKey(before) !== ownerKey(record);
  if (record.series !== undefined && named) {
    const owner = ownerKey(record);
    const others = lookup.namesakes(record.series, owner, record.name, record.id);
    if (others.length > 0) {
      problems.push({ field: 'name', rule: 'unique-in-series', expected: `a name not used by another image of ${owner} in series ${record.series}`, message: `${others.join(', ')} of series ${record.series} is already named ${JSON.stringify(record.name)}` });
    }
  }
  return problems;
}

/**
 * An owner as every catalogue names them, whichever instance reads it: `alice@origin`, or `alice`
 * for a record that names no origin. Series are namespaces per owner so qualified: an upstream's
 * `alice` never shares (or blocks) a name with this instance's `alice`.
 */
export function ownerKey(r: { owner: string; origin?: string | undefined }): string {
  return r.origin === undefined ? r.owner : `${r.owner}@${r.origin}`;
}

/** The key of a name in a series' namespace of one owner (its ownerKey). */
export function seriesNameKey(series: string, owner: string, name: string): string {
  return `${series}\u0000${owner}\u0000${name}`;
}

/** How far ahead of this machine's clock a record's time may be: another machine's clock may run fast. */
export const CLOCK_SKEW_MS = 10 * 60 * 1000;

/**
 * What a record says of itself must hold together: an available image has the size, the checksum and
 * a location it is served from, and no time lies in the future (an `uploaded_at` of 2099 would make
 * an image its series' latest for good).
 */
function consistencyProblems(record: ImageRecord, now: number): FieldProblem[] {
  const problems: FieldProblem[] = [];
  if (record.status === 'available') {
    if (record.size === undefined) problems.push({ field: 'size', rule: 'available-complete', expected: 'the size of an available image', message: 'an available image must have its size' });
    if (record.checksum === undefined) problems.push({ field: 'checksum', rule: 'available-complete', expected: 'the checksum of an available image', message: 'an available image must have its checksum' });
    if (!record.locations?.length) problems.push({ field: 'locations', rule: 'available-complete', expected: 'at least one location', message: 'an available image must have a location to be served from' });
  }
  for (const field of ['created_at', 'updated_at', 'uploaded_at'] as const) {
    const value = record[field];
    if (value !== undefined && Date.parse(value) > now + CLOCK_SKEW_MS) {
      problems.push({ field, rule: 'future-date', expected: `a time no later than ${CLOCK_SKEW_MS / 60_000} minutes from now`, message: `${field} ${value} lies in the future` });
    }
  }
  return problems;
}

function referenceProblems(record: ImageRecord, lookup: RecordLookup): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const field of ['kernel', 'ramdisk'] as const) {
    const ref = record[field];
    if (ref === undefined) continue;
    const target = lookup.record(ref);
    if (!target) {
      problems.push({ field, rule: 'reference', expected: `the id of an existing ${field} image`, message: `${field}: no image ${ref}` });
    } else if (target.type !== field) {
      problems.push({ field, rule: 'reference', expected: `an image of type ${field}`, message: `${field}: image ${ref} has type ${target.type ?? 'none'}, not ${field}` });
    }
  }
  return problems;
}

/**
 * `built_from` and `deprecation.replaced_by` name another image in the catalogue (never the image
 * itself). Judged when the change sets them, as names are: a base deleted later (retired, or never
 * followed here) leaves its descendants' provenance as it was, and does not block their other changes.
 */
function lineageProblems(record: ImageRecord, lookup: RecordLookup, before: ImageRecord | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const refs = [
    { field: 'built_from', ref: record.built_from, was: before?.built_from, what: 'the image it was built from' },
    { field: 'deprecation.replaced_by', ref: record.deprecation?.replaced_by, was: before?.deprecation?.replaced_by, what: 'the image that replaces it' },
  ];
  for (const { field, ref, was, what } of refs) {
    if (ref === undefined || (before !== undefined && ref === was)) continue;
    if (ref === record.id) problems.push({ field, rule: 'reference', expected: `the id of another image (${what})`, message: `${field}: image ${ref} cannot name itself` });
    else if (!lookup.record(ref)) problems.push({ field, rule: 'reference', expected: `the id of an image in the catalogue (${what})`, message: `${field}: no image ${ref}` });
  }
  return problems;
}

/** Images whose kernel or ramdisk is the given id: they forbid its deletion. */
export function referrers(id: string, all: Iterable<ImageRecord>): ImageRecord[] {
  const found: ImageRecord[] = [];
  for (const r of all) if (r.kernel === id || r.ramdisk === id) found.push(r);
  return found;
}

/** How the rules name images by id: "image <id>". */
export function imageIds(ids: Iterable<string>): string[] {
  return [...ids].map((id) => `image ${id}`);
}

import type { ImageInspection, ImageRecord } from '../api/ImageRecord.ts';
import { VisorError, type FieldProblem } from '../errors/VisorError.ts';
import { INSPECTOR_VERSION, type InspectedFile } from './FormatInspection.ts';
import type { DetectedFormat, Finding, Refusal } from './FormatReader.ts';

/** `disk` values whose contents no reader knows (Glance's non-inspectable formats): raw bytes are all that can be checked. */
const UNINSPECTABLE = new Set(['ami', 'aki', 'ari', 'ploop']);

/**
 * Whether a file of the detected format may be published under the declared `disk` (Glance's
 * require_image_format_match, with its allowances): the same format; raw holding a partition table
 * or an ISO 9660 filesystem (both are raw to qemu); raw bytes under a format no reader knows. No
 * declared format (absent or "none") claims nothing to contradict. The one rule for uploads, links,
 * re-inspection and the catalogue's own checks (hooks, sync, validate).
 */
export function formatFits(declared: string | undefined, detected: string): boolean {
  if (declared === undefined || declared === 'none' || declared === detected) return true;
  if (declared === 'raw') return detected === 'gpt' || detected === 'iso';
  if (UNINSPECTABLE.has(declared)) return detected === 'raw' || detected === 'gpt';
  return false;
}

/** The record's own facts against its recorded inspection: `disk` and `virtual_size` must agree with what the file is. */
export function inspectionProblems(record: ImageRecord): FieldProblem[] {
  const found = record.inspection;
  if (found === undefined) return [];
  const problems: FieldProblem[] = [];
  if (!formatFits(record.disk, found.format)) {
    problems.push({ field: 'disk', rule: 'format-mismatch', expected: `a disk format the file's detected format ${found.format} fits`, message: `disk ${record.disk ?? ''} disagrees with the inspected format ${found.format} of the file` });
  }
  if (record.virtual_size !== undefined && record.virtual_size !== found.virtual_size) {
    problems.push({ field: 'virtual_size', rule: 'inspected-virtual-size', expected: `${found.virtual_size}, the virtual size in the file's header`, message: `virtual_size ${record.virtual_size} differs from the inspected ${found.virtual_size}` });
  }
  return problems;
}

/** The default of uploads.max_virtual_size: 64 TiB. */
export const DEFAULT_MAX_VIRTUAL_SIZE = 2 ** 46;

export interface InspectionPolicy {
  /** The largest virtual disk accepted, in bytes. */
  maxVirtualSize: number;
}

/**
 * The verdict on an inspected file declared as `declared`: what to record, or a 400 naming every
 * rule the file breaks. A file two readers recognise is refused outright (a header hidden in
 * another), except an ISO carrying a partition table (bootable ISOs do: Glance bug 2127789).
 */
export function verdictOn(file: InspectedFile, declared: string | undefined, policy: InspectionPolicy, now = new Date()): ImageInspection {
  let matches = file.matches;
  if (matches.some((m) => m.format === 'iso')) matches = matches.filter((m) => m.format !== 'gpt');
  if (matches.length > 1) {
    throw refusedError([{ rule: 'multiple-formats', message: `the file reads as ${matches.map((m) => m.format).join(' and ')} at once: a header hidden in another format` }]);
  }
  const found: Finding = matches[0] ?? file.raw;
  const refusals: Refusal[] = [...found.refusals];
  if (!formatFits(declared, found.format)) {
    refusals.push({ rule: 'format-mismatch', message: `the image is declared disk ${declared ?? ''} but the file is ${describe(found.format)}` });
  }
  if (found.virtualSize > BigInt(policy.maxVirtualSize)) {
    refusals.push({ rule: 'virtual-size-cap', message: `the file's virtual size of ${found.virtualSize} bytes exceeds the limit of ${policy.maxVirtualSize} bytes (uploads.max_virtual_size)` });
  }
  if (refusals.length > 0) throw refusedError(refusals);
  return {
    format: found.format,
    virtual_size: Number(found.virtualSize),
    ...(found.clusterSize !== undefined ? { cluster_size: found.clusterSize } : {}),
    ...(found.compat !== undefined ? { compat: found.compat } : {}),
    inspected_at: now.toISOString(),
    inspector: INSPECTOR_VERSION,
  };
}

function describe(format: DetectedFormat): string {
  return format === 'raw' ? 'raw (no known format header)' : format === 'gpt' ? 'a raw disk with a partition table (gpt/mbr)' : format;
}

/** A refused file: 400, one problem per rule broken, each named. */
function refusedError(refusals: readonly Refusal[]): VisorError {
  const problems = refusals.map((r) => ({ field: '(file)', rule: r.rule, expected: 'a disk image that passes format inspection', message: `${r.rule}: ${r.message}` }));
  return new VisorError('invalid', `file refused by format inspection: ${problems.map((p) => p.message).join('; ')}`, problems);
}

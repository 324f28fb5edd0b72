import type { ImageScan } from '../api/ImageRecord.ts';
import { VisorError, type FieldProblem } from '../errors/VisorError.ts';

/** The fields quarantine depends on. */
export interface ScannedSubject {
  id: string;
  scan?: ImageScan | undefined;
}

/** An infected file no admin has released: nobody downloads it, only its owner and admins see it (ImageAccess). */
export function isQuarantined(r: { scan?: ImageScan | undefined }): boolean {
  return r.scan?.verdict === 'infected' && r.scan.released_at === undefined;
}

/**
 * Why a quarantined image is not served: 409, like any image whose state keeps its file from being
 * served (error, uploading, hidden). Not 451, which RFC 7725 keeps for a legal demand: this is the
 * image's state, which an admin's release or a delete changes.
 */
export function quarantined(r: ScannedSubject): VisorError {
  const s = r.scan!;
  return new VisorError(
    'conflict',
    `image ${r.id} is quarantined: ${s.engine ?? 'the malware scanner'} found ${s.signature ?? 'malware'} in its file (scanned ${s.scanned_at}); it is not served, and only its owner and admins see it until an admin releases it (POST /images/${r.id}/release) or it is deleted`,
  );
}

/**
 * The record's scan against itself, for every write and check of the catalogue (src/catalog/CatalogRules.ts):
 * an infected verdict names what was found; a signature or a release belongs to an infected verdict only,
 * so an edited record cannot pass a release off on a clean file or a quarantine on nothing.
 */
export function scanProblems(record: { scan?: ImageScan | undefined }): FieldProblem[] {
  const s = record.scan;
  if (s === undefined) return [];
  const problems: FieldProblem[] = [];
  if (s.verdict === 'infected' && s.signature === undefined) {
    problems.push({ field: 'scan.signature', rule: 'infected-signature', expected: 'the signature the engine found', message: 'scan.signature: an infected verdict names what was found' });
  }
  if (s.verdict !== 'infected') {
    for (const field of ['signature', 'released_at', 'released_by'] as const) {
      if (s[field] !== undefined) problems.push({ field: `scan.${field}`, rule: 'infected-only', expected: 'no value unless the verdict is infected', message: `scan.${field}: only an infected verdict has one` });
    }
  }
  if ((s.released_at === undefined) !== (s.released_by === undefined)) {
    problems.push({ field: 'scan.released_by', rule: 'release-pair', expected: 'released_at and released_by together', message: 'scan: a release names both when and by whom' });
  }
  return problems;
}

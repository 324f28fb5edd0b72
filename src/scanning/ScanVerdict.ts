import type { ImageScan } from '../api/ImageRecord.ts';
import type { ClamdOutcome, ClamdVersion } from './ClamdClient.ts';

/** What to record of one scan: clamd's outcome, with the engine and database that gave it. */
export function scanRecord(outcome: ClamdOutcome, version: ClamdVersion | undefined, limitHint: string, now = new Date()): ImageScan {
  const by = version ? { engine: version.engine, ...(version.databaseVersion ? { database_version: version.databaseVersion } : {}) } : {};
  const at = now.toISOString();
  switch (outcome.kind) {
    case 'clean':
      return { verdict: 'clean', ...by, scanned_at: at };
    case 'infected':
      return { verdict: 'infected', signature: outcome.signature.slice(0, 256), ...by, scanned_at: at };
    case 'too_large':
      return {
        verdict: 'too_large',
        reason: (outcome.limit ? `too large to scan: the file exceeds clamd's ${outcome.limit} (clamd.conf), so part of it would go unscanned` : `too large to scan: the file is longer than clamd's StreamMaxLength${limitHint}`).slice(0, 512),
        ...by,
        scanned_at: at,
      };
    case 'failed':
      return { verdict: 'error', reason: outcome.reason.slice(0, 512), ...by, scanned_at: at };
  }
}

/**
 * A new scan's record over the last one: a release stays with the finding it released (the same
 * signature), so a scheduled rescan does not quarantine again what an admin let through; any other
 * finding is a new quarantine.
 */
export function nextScan(before: ImageScan | undefined, scan: ImageScan): ImageScan {
  if (scan.verdict === 'infected' && before?.verdict === 'infected' && before.released_at !== undefined && before.signature === scan.signature) {
    return { ...scan, released_at: before.released_at, ...(before.released_by !== undefined ? { released_by: before.released_by } : {}) };
  }
  return scan;
}

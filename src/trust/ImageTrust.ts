import type { ImageDeprecation, ImageRecord } from '../api/ImageRecord.ts';
import type { EndorserList } from './EndorserList.ts';
import { assessEndorsements, EXPIRY_WARNING_DAYS, type EndorsementView, type StatementText } from './EndorsementState.ts';

/** Where an image's trust is read from: a daemon's catalogues, or a clone (`visor verify --catalog`). */
export interface TrustSource {
  /** The record, as far as the reader may know of it (undefined: no such image, or not theirs to see). */
  record(id: string): ImageRecord | undefined;
  /** The image's statement files (endorsements and revocations). */
  statements(id: string): StatementText[];
  endorsers(): EndorserList;
  /** The image's endorsements already judged (a cache); otherwise they are judged from statements() and endorsers(). */
  endorsements?(record: ImageRecord): EndorsementView[];
}

/** An endorser whose endorsement of an image stands revoked: they revoked it and have not endorsed it again since. */
export interface StandingRevocation {
  identity: string;
  reason: string;
  file: string;
}

/** One image an image was built from, generation 1 being its `built_from`. */
export interface AncestorView {
  id: string;
  generation: number;
  /** Not in the catalogue (deleted, never followed here, or not the reader's to see): the walk stops there. */
  missing?: true;
  deprecation?: ImageDeprecation;
  revoked?: StandingRevocation[];
}

/** What flags an image: its own deprecation, or a base's revocation or deprecation (HCP Packer's ancestry). */
export interface TrustFlag {
  rule: 'deprecated' | 'base_deprecated' | 'base_revoked';
  /** The image the flag comes from: this one, or the base. */
  image: string;
  message: string;
}

/** Everything VISOR knows about whether to trust one image, computed whenever asked (never stored). */
export interface ImageTrust {
  id: string;
  checksum?: string;
  endorsements: EndorsementView[];
  deprecation?: ImageDeprecation;
  /** Its bases, nearest first. */
  ancestry: AncestorView[];
  flags: TrustFlag[];
  /** Ahead-of-time notices: endorsements expiring within the warning window. */
  warnings: string[];
}

/** A built_from chain longer than this is cut (a cycle is cut where it closes). */
export const MAX_GENERATIONS = 32;

export interface TrustOptions {
  now?: Date;
  /** Endorsements expiring within this many days are warned of (default 30). */
  warningDays?: number;
}

/** The identities whose endorsements of an image stand revoked (a later endorsement by the same identity stands again). */
export function standingRevocations(endorsements: readonly EndorsementView[]): StandingRevocation[] {
  const validBy = new Set(endorsements.filter((e) => e.state === 'valid' || e.state === 'expired').map((e) => e.identity));
  const out = new Map<string, StandingRevocation>();
  for (const e of endorsements) {
    if (e.state !== 'revoked' || !e.revocation || e.identity === undefined || validBy.has(e.identity)) continue;
    out.set(e.identity, { identity: e.identity, reason: e.revocation.reason, file: e.revocation.file });
  }
  return [...out.values()];
}

/** A warning for each valid endorsement that expires within `days`, ahead of time. */
export function expiryWarnings(id: string, endorsements: readonly EndorsementView[], now: Date, days: number): string[] {
  return endorsements
    .filter((e) => e.state === 'valid' && e.expires_at !== undefined && Date.parse(e.expires_at) - now.getTime() < days * 86_400_000)
    .map((e) => `image ${id}: endorsement by ${e.identity} expires at ${e.expires_at} (in ${Math.max(0, Math.ceil((Date.parse(e.expires_at!) - now.getTime()) / 86_400_000))} days): sign a new one before then`);
}

const deprecationText = (d: ImageDeprecation) => `${d.reason}${d.replaced_by ? ` (replaced by image ${d.replaced_by})` : ''}`;

/**
 * The trust of one image: its endorsements and their states, its deprecation, and its ancestry (each
 * base along `built_from`, with its deprecation and the revocations standing against it). A base
 * revoked or deprecated flags every image built on it, however many generations down.
 */
export function trustOf(record: ImageRecord, source: TrustSource, options: TrustOptions = {}): ImageTrust {
  const now = options.now ?? new Date();
  const warningDays = options.warningDays ?? EXPIRY_WARNING_DAYS;
  // Read only when a statement needs it: most images have none.
  let list: EndorserList | undefined;
  const endorsers: Pick<EndorserList, 'key'> = { key: (fingerprint) => (list ??= source.endorsers()).key(fingerprint) };
  const endorsementsOf = (r: ImageRecord) => source.endorsements?.(r) ?? assessEndorsements(r.id, source.statements(r.id), r, endorsers, now, warningDays);
  const endorsements = endorsementsOf(record);
  const flags: TrustFlag[] = [];
  const warnings: string[] = [];
  if (record.deprecation) flags.push({ rule: 'deprecated', image: record.id, message: `image ${record.id}: rule deprecated: its owner deprecated it: ${deprecationText(record.deprecation)}` });
  warnings.push(...expiryWarnings(record.id, endorsements, now, warningDays));
  const ancestry: AncestorView[] = [];
  const seen = new Set([record.id]);
  let next = record.built_from;
  for (let generation = 1; next !== undefined && !seen.has(next) && generation <= MAX_GENERATIONS; generation++) {
    seen.add(next);
    const base = source.record(next);
    if (!base) {
      ancestry.push({ id: next, generation, missing: true });
      break;
    }
    const revoked = standingRevocations(endorsementsOf(base));
    ancestry.push({ id: base.id, generation, ...(base.deprecation ? { deprecation: base.deprecation } : {}), ...(revoked.length > 0 ? { revoked } : {}) });
    const how = `image ${base.id} (${generation === 1 ? 'its base' : `its base ${generation} generations up`})`;
    for (const r of revoked) flags.push({ rule: 'base_revoked', image: base.id, message: `image ${record.id}: rule base_revoked: built on ${how}, whose endorsement by ${r.identity} was revoked: ${r.reason}` });
    if (base.deprecation) flags.push({ rule: 'base_deprecated', image: base.id, message: `image ${record.id}: rule base_deprecated: built on ${how}, deprecated: ${deprecationText(base.deprecation)}` });
    next = base.built_from;
  }
  return {
    id: record.id,
    ...(record.checksum ? { checksum: record.checksum } : {}),
    endorsements,
    ...(record.deprecation ? { deprecation: record.deprecation } : {}),
    ancestry,
    flags,
    warnings,
  };
}

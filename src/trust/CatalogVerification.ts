import { lstatSync, readdirSync, readFileSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { ID_PATTERN, IMAGES_DIR, recordPath } from '../catalog/CatalogLayout.ts';
import { CatalogTrustSource, imagesWithStatements } from './CatalogEndorsements.ts';
import { assessEndorsements, type EndorsementView } from './EndorsementState.ts';
import { trustOf, type TrustSource } from './ImageTrust.ts';
import { judgeTrust, type JudgedFailure, type TrustPolicy } from './TrustPolicy.ts';

/**
 * A record of a catalogue clone, or undefined when absent or unreadable (it then has no facts: every
 * endorsement of it mismatches). Only a regular file is read: a FIFO would block, a link points anywhere.
 */
export function recordInClone(dir: string, id: string): ImageRecord | undefined {
  return parsedRecord(regularFileText(join(dir, recordPath(id))), id);
}

/** A clone's file, only if it is a regular file: a FIFO would block the read, a link points anywhere. */
export function regularFileText(path: string): string | undefined {
  return lstatSync(path, { throwIfNoEntry: false })?.isFile() ? readText(path) : undefined;
}

/** Whether the clone has something at an image's record path (a record, readable or not). */
export function recordPathTaken(dir: string, id: string): boolean {
  return lstatSync(join(dir, recordPath(id)), { throwIfNoEntry: false }) !== undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function parsedRecord(text: string | undefined, id: string): ImageRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as ImageRecord;
    return r?.id === id ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Hands over every record file of a clone's working tree (images/<shard>/<id>.json), in id order, one
 * at a time: none is kept, since holding 100,000 parsed records cost a third more than reading them.
 * A file that is not a record of its id (or not a regular file) is still an image the clone holds:
 * judged as one without facts (`status: error`), as `visor verify ID` judges it, so it cannot pass by
 * being unreadable.
 */
export function eachRecordInClone(dir: string, visit: (record: ImageRecord) => void): void {
  let shards: string[];
  try {
    shards = readdirSync(join(dir, IMAGES_DIR)).filter((s) => /^[0-9a-f]{2}$/.test(s)).sort();
  } catch {
    return;
  }
  for (const shard of shards) {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(dir, IMAGES_DIR, shard), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      continue;
    }
    for (const entry of entries) {
      const name = entry.name;
      const id = name.slice(0, -'.json'.length);
      if (!name.endsWith('.json') || !ID_PATTERN.test(id) || !id.startsWith(shard)) continue;
      // A link (to a file anywhere) or a FIFO (which would block the read) is not read: no record, so it fails.
      // Concatenated rather than join()ed: readdir names hold no separators (3% of a scan).
      const record = entry.isFile() ? parsedRecord(readText(`${dir}/${IMAGES_DIR}/${shard}/${name}`), id) : undefined;
      visit(record ?? ({ id, status: 'error' } as ImageRecord));
    }
  }
}

/** The images that fail (or pass with a warning) one rule, in one status: how many, the first few ids, and the first one's message. */
export interface RuleGroup {
  rule: JudgedFailure['rule'] | 'expires_soon';
  /** What the image falls short as (`denied` for deny lists; `expiring` for expiry warnings). */
  status: JudgedFailure['status'] | 'expiring';
  treatment: JudgedFailure['treatment'];
  images: number;
  /** The first ids, in id order. */
  first: string[];
  /** The first image's message for this rule. */
  example: string;
}

/** What a policy makes of every image of a catalogue clone. */
export interface CatalogJudgement {
  /** Every image meets the policy. */
  met: boolean;
  images: number;
  images_met: number;
  images_failed: number;
  /** Statement files judged (each signature checked once, however many images are built on it). */
  statements: number;
  /** The rules images fail, most images first: an image failing two rules counts in both. */
  failures: RuleGroup[];
  /** Rules the policy lets pass (a deprecated image or base, by default) and endorsements expiring within the policy's warning window. */
  warnings: RuleGroup[];
}

export interface CatalogJudgementOptions {
  now?: Date;
  /** How many ids each group names (default 5). */
  sample?: number;
}

/**
 * Judges every image of a catalogue clone against a policy, as `visor verify ID --catalog` judges
 * one (trustOf + judgeTrust, the same rules), at the cost of one read of every record (a base is
 * read again when first reached through built_from, then kept): the statement folders are listed
 * once (95% of images typically have none: no probe for each), and each image's statements are
 * judged once and kept, so a base's endorsements are not re-verified for each of its descendants.
 * The clone's trust files and head are the caller's to check first.
 */
export function judgeCatalog(dir: string, policy: TrustPolicy, options: CatalogJudgementOptions = {}): CatalogJudgement {
  const now = options.now ?? new Date();
  const sample = options.sample ?? 5;
  const warningDays = policy.expiry_warning_days;
  const withStatements = new Set(imagesWithStatements(dir));
  // Bases, read when an image's built_from first reaches them (undefined: not in the clone, or unreadable).
  const bases = new Map<string, ImageRecord | undefined>();
  const record = (id: string) => {
    if (!bases.has(id)) bases.set(id, recordInClone(dir, id));
    return bases.get(id);
  };
  const files = new CatalogTrustSource([dir], dir, record);
  const judged = new Map<string, EndorsementView[]>();
  const none: EndorsementView[] = [];
  let statements = 0;
  const source: TrustSource = {
    record,
    statements: (id) => (withStatements.has(id) ? files.statements(id) : []),
    endorsers: () => files.endorsers(),
    endorsements(record) {
      if (!withStatements.has(record.id)) return none;
      let views = judged.get(record.id);
      if (views === undefined) {
        const texts = files.statements(record.id);
        statements += texts.length;
        views = assessEndorsements(record.id, texts, record, files.endorsers(), now, warningDays);
        judged.set(record.id, views);
      }
      return views;
    },
  };
  type Counting = RuleGroup & { last?: string };
  const failures = new Map<string, Counting>();
  const warnings = new Map<string, Counting>();
  const add = (groups: Map<string, Counting>, id: string, g: Omit<RuleGroup, 'images' | 'first'>) => {
    const key = `${g.rule} ${g.status}`;
    let group = groups.get(key);
    if (group === undefined) groups.set(key, (group = { ...g, images: 0, first: [] }));
    // An image failing one rule twice (two endorsers' revocations) counts once in it.
    if (group.last === id) return;
    group.last = id;
    group.images++;
    if (group.first.length < sample) group.first.push(id);
  };
  let met = 0;
  let images = 0;
  eachRecordInClone(dir, (image) => {
    images++;
    const trust = trustOf(image, source, { now, warningDays });
    const judgement = judgeTrust(trust, policy);
    if (judgement.treatment === 'downloadable') met++;
    for (const f of judgement.failures) add(failures, image.id, { rule: f.rule, status: f.status, treatment: f.treatment, example: f.message });
    for (const f of judgement.passed ?? []) add(warnings, image.id, { rule: f.rule, status: f.status, treatment: f.treatment, example: f.message });
    if (trust.warnings.length > 0) add(warnings, image.id, { rule: 'expires_soon', status: 'expiring', treatment: 'downloadable', example: trust.warnings[0]! });
  });
  const ordered = (groups: Map<string, Counting>) => [...groups.values()].sort((a, b) => b.images - a.images).map(({ last: _, ...g }): RuleGroup => g);
  return { met: met === images, images, images_met: met, images_failed: images - met, statements, failures: ordered(failures), warnings: ordered(warnings) };
}

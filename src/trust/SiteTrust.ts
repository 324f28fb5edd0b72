import { readFile } from 'node:fs/promises';
import type { ImageRecord } from '../api/ImageRecord.ts';
import type { TrustJudge } from '../access/ImageAccess.ts';
import { invalidField } from '../errors/VisorError.ts';
import { CatalogTrustSource, imagesWithStatements } from './CatalogEndorsements.ts';
import { assessEndorsements, EXPIRY_WARNING_DAYS } from './EndorsementState.ts';
import type { ExpiringEndorsement } from '../api/wire.ts';
import { trustOf, type ImageTrust } from './ImageTrust.ts';
import { judgeTrust, parseTrustPolicy, redactJudgement, type PolicyJudgement, type TrustPolicy } from './TrustPolicy.ts';

export interface SiteTrustOptions {
  /** The site's policy (`trust.policy`); none: the daemon judges nothing and offers every image as before. */
  policy: TrustPolicy | undefined;
  /** Catalogue working trees holding statements, and the one whose endorser list counts. */
  statementDirs: readonly string[];
  trustDir: string;
  record(id: string): ImageRecord | undefined;
  /** Changes whenever any record does (CatalogIndex.changes): a judgement covers the image's bases too. */
  changes(): number;
}

/** A judgement is recomputed at least this often: expiries pass, and statements arrive in the working tree. */
const RECHECK_MS = 30_000;
/** Judgements kept at most (a list of 100,000 images would otherwise keep all of them). */
const MAX_CACHED = 200_000;

interface Cached {
  record: ImageRecord;
  changes: number;
  until: number;
  judgement: PolicyJudgement;
}

/**
 * The site's trust policy, applied by the daemon: what it makes of each image (src/trust/TrustPolicy.ts
 * judgeTrust), asked for by the access rules (src/access/ImageAccess.ts) for every route. Judgements
 * are read synchronously from the catalogues' working trees and kept until a record changes
 * (any: a base's revocation or deprecation reaches its descendants), the working tree changes under
 * a sync (invalidate), or RECHECK_MS passes.
 */
export class SiteTrust implements TrustJudge {
  private readonly o: SiteTrustOptions;
  private readonly cache = new Map<string, Cached>();

  constructor(options: SiteTrustOptions) {
    this.o = options;
  }

  /** Reads the policy file; no path, or no file at a default path: no policy. */
  static async loadPolicy(path: string | undefined, required: boolean): Promise<TrustPolicy | undefined> {
    if (path === undefined) return undefined;
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' && !required) return undefined;
      throw invalidField('trust.policy', 'readable', 'a readable policy file', `trust.policy ${path}: cannot read it (${error.code ?? error.message})`);
    });
    return text === undefined ? undefined : parseTrustPolicy(text, `trust.policy ${path}`);
  }

  get policy(): TrustPolicy | undefined {
    return this.o.policy;
  }

  /** Forgets every judgement: the working trees changed (a sync brought statements, or the endorser list). */
  invalidate(): void {
    this.cache.clear();
  }

  private source(record: (id: string) => ImageRecord | undefined): CatalogTrustSource {
    return new CatalogTrustSource(this.o.statementDirs, this.o.trustDir, record);
  }

  private trustOptions(): { warningDays: number } {
    return { warningDays: this.o.policy?.expiry_warning_days ?? EXPIRY_WARNING_DAYS };
  }

  /**
   * What the policy makes of the image, or undefined when the site has no policy. Bases are judged
   * whoever asks (a base the caller cannot see still flags what is built on it).
   */
  judgeRecord(record: ImageRecord): PolicyJudgement | undefined {
    const policy = this.o.policy;
    if (!policy) return undefined;
    const now = Date.now();
    const changes = this.o.changes();
    const hit = this.cache.get(record.id);
    if (hit && hit.record === record && hit.changes === changes && hit.until > now) return hit.judgement;
    const trust = trustOf(record, this.source((id) => this.o.record(id)), { ...this.trustOptions(), now: new Date(now) });
    const judgement = judgeTrust(trust, policy);
    // Until the first valid endorsement lapses, at the latest: then the judgement may change.
    const lapses = trust.endorsements.filter((e) => e.state === 'valid' && e.expires_at).map((e) => Date.parse(e.expires_at!));
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(record.id, { record, changes, until: Math.min(now + RECHECK_MS, ...lapses), judgement });
    return judgement;
  }

  subject(id: string): ImageRecord | undefined {
    return this.o.record(id);
  }

  /** judgeRecord() of the image with this id as the index holds it (the access rules ask by id: their subject may be a part of a record). */
  judge(id: string): PolicyJudgement | undefined {
    if (!this.o.policy) return undefined;
    const record = this.o.record(id);
    return record ? this.judgeRecord(record) : undefined;
  }

  /**
   * Every valid endorsement that expires within the warning window, soonest first (the usage
   * report): only images with statements are read, so the cost is the endorsed images', not the catalogue's.
   */
  expiring(now: Date = new Date()): { days: number; endorsements: ExpiringEndorsement[] } {
    const days = this.trustOptions().warningDays;
    const source = this.source((id) => this.o.record(id));
    const ids = new Set(this.o.statementDirs.flatMap((d) => imagesWithStatements(d)));
    const out: ExpiringEndorsement[] = [];
    for (const id of ids) {
      const record = this.o.record(id);
      if (!record) continue;
      const endorsements = assessEndorsements(id, source.statements(id), record, source.endorsers(), now, days);
      for (const e of endorsements) {
        if (e.state === 'valid' && e.expires_soon) out.push({ image: id, name: record.name, identity: e.identity!, expires_at: e.expires_at!, file: e.file });
      }
    }
    out.sort((a, b) => a.expires_at.localeCompare(b.expires_at) || a.image.localeCompare(b.image));
    return { days, endorsements: out };
  }

  /** GET /images/:id/endorsements: the trust of an image, its ancestry as far as `visible` lets the caller see, and the policy's judgement. */
  view(record: ImageRecord, visible: (id: string) => ImageRecord | undefined): ImageTrust & { policy?: PolicyJudgement } {
    const trust = trustOf(record, this.source(visible), this.trustOptions());
    const judgement = this.judgeRecord(record);
    return { ...trust, ...(judgement ? { policy: redactJudgement(judgement, (id) => visible(id) !== undefined) } : {}) };
  }
}

import { readFile } from 'node:fs/promises';
import type { ImageRecord } from '../api/ImageRecord.ts';
import type { TrustJudge } from '../access/ImageAccess.ts';
import { invalidField } from '../errors/VisorError.ts';
import { CatalogTrustSource, imagesWithStatements } from './CatalogEndorsements.ts';
import { assessEndorsements, EXPIRY_WARNING_DAYS, type EndorsementView } from './EndorsementState.ts';
import { EndorserList } from './EndorserList.ts';
import type { ExpiringEndorsement } from '../api/wire.ts';
import { trustOf, type ImageTrust, type TrustSource } from './ImageTrust.ts';
import { judgeTrust, parseTrustPolicy, redactJudgement, type PolicyJudgement, type Treatment, type TrustPolicy } from './TrustPolicy.ts';

export interface SiteTrustOptions {
  /** The site's policy (`trust.policy`); none: the daemon judges nothing and offers every image as before. */
  policy: TrustPolicy | undefined;
  /** Catalogue working trees holding statements, and the one whose endorser list counts. */
  statementDirs: readonly string[];
  trustDir: string;
  record(id: string): ImageRecord | undefined;
}

/** A judgement is recomputed at least this often: expiries pass, and statements arrive in the working tree. */
const RECHECK_MS = 30_000;
/** Images judged between two turns of the event loop while warming. */
const WARM_SLICE = 200;
/** Judgements kept at most (a list of 100,000 images would otherwise keep all of them). */
const MAX_CACHED = 200_000;

interface Cached {
  record: ImageRecord;
  /** Its bases' records as judged (undefined: not in the catalogue): a new version of any is a new judgement. */
  bases: ReadonlyArray<[string, ImageRecord | undefined]>;
  until: number;
  treatment: Treatment;
}

/** Shared by every image built on nothing (most): a cached treatment costs a few words. */
const NO_BASES: ReadonlyArray<[string, ImageRecord | undefined]> = [];

/** One image's own endorsements, judged for one version of its record. */
interface Assessed {
  record: ImageRecord;
  until: number;
  endorsements: EndorsementView[];
}

/**
 * The site's trust policy, applied by the daemon: what it makes of each image (src/trust/TrustPolicy.ts
 * judgeTrust), asked for by the access rules (src/access/ImageAccess.ts) for every route, so read
 * synchronously and kept: which images have statements at all (one listing of endorsements/), the
 * endorser list, each image's own endorsements for its record's version, and each image's treatment
 * (its ancestry composed from its bases' cached endorsements) until its record or a base's changes;
 * a judgement's words are made again when asked for (a refusal, the endorsements view). All of it is
 * dropped when a sync brings statements or the endorser list (invalidate), and at most RECHECK_MS
 * later, or when an endorsement lapses, judged again.
 */
export class SiteTrust implements TrustJudge {
  private readonly o: SiteTrustOptions;
  private readonly cache = new Map<string, Cached>();
  private readonly assessed = new Map<string, Assessed>();
  private endorserList: EndorserList | undefined;
  private withStatements: { ids: Set<string>; until: number } | undefined;
  private invalidations = 0;

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

  get version(): number {
    return this.invalidations;
  }

  /** Forgets every judgement: the working trees changed (a sync brought statements, or the endorser list). */
  invalidate(): void {
    this.invalidations++;
    this.cache.clear();
    this.assessed.clear();
    this.endorserList = undefined;
    this.withStatements = undefined;
  }

  /** Whether the image has a statement folder in a catalogue (most have none, and are then judged without a read). */
  private hasStatements(id: string, now: number): boolean {
    if (!this.withStatements || this.withStatements.until <= now) {
      this.withStatements = { ids: new Set(this.o.statementDirs.flatMap((d) => imagesWithStatements(d))), until: now + RECHECK_MS };
    }
    return this.withStatements.ids.has(id);
  }

  /** The image's own endorsements, judged once per version of its record (and again when one lapses). */
  private endorsementsOf(record: ImageRecord, now: number): EndorsementView[] {
    const hit = this.assessed.get(record.id);
    if (hit && hit.record === record && hit.until > now) return hit.endorsements;
    const source = this.source((id) => this.o.record(id));
    const endorsements = this.hasStatements(record.id, now) ? assessEndorsements(record.id, source.statements(record.id), record, (this.endorserList ??= source.endorsers()), new Date(now), this.trustOptions().warningDays) : [];
    const lapses = endorsements.filter((e) => e.state === 'valid' && e.expires_at).map((e) => Date.parse(e.expires_at!));
    if (this.assessed.size >= MAX_CACHED) this.assessed.clear();
    this.assessed.set(record.id, { record, until: Math.min(now + RECHECK_MS, ...lapses), endorsements });
    return endorsements;
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
    return this.o.policy && this.compute(record, this.o.policy, Date.now()).judgement;
  }

  /**
   * What the policy does with the image (the access rules' question, for every record of every
   * list): kept per image, without the judgement's words, which are made again when asked for.
   */
  treatmentOf(record: ImageRecord): Treatment | undefined {
    const policy = this.o.policy;
    if (!policy) return undefined;
    const now = Date.now();
    const hit = this.cache.get(record.id);
    if (hit && hit.record === record && hit.until > now && hit.bases.every(([id, base]) => this.o.record(id) === base)) return hit.treatment;
    const { judgement, until, bases } = this.compute(record, policy, now);
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(record.id, { record, bases, until, treatment: judgement.treatment });
    return judgement.treatment;
  }

  private compute(record: ImageRecord, policy: TrustPolicy, now: number): { judgement: PolicyJudgement; until: number; bases: Cached['bases'] } {
    const source: TrustSource = {
      record: (id) => this.o.record(id),
      statements: () => [],
      endorsers: () => EndorserList.empty(),
      endorsements: (r) => this.endorsementsOf(r, now),
    };
    const trust = trustOf(record, source, { ...this.trustOptions(), now: new Date(now) });
    const judgement = judgeTrust(trust, policy);
    // Until the first valid endorsement lapses, at the latest: then the judgement may change.
    const lapses = trust.endorsements.filter((e) => e.state === 'valid' && e.expires_at).map((e) => Date.parse(e.expires_at!));
    const bases = trust.ancestry.length === 0 ? NO_BASES : trust.ancestry.map((a): [string, ImageRecord | undefined] => [a.id, this.o.record(a.id)]);
    return { judgement, until: Math.min(now + RECHECK_MS, ...lapses), bases };
  }

  /**
   * Judges every image ahead of the first list, a slice at a time between other work: reading and
   * checking 10,000 endorsements takes seconds, which one request should not wait for. Stops early on close.
   */
  async warm(records: () => Iterable<ImageRecord>, stopped: () => boolean): Promise<void> {
    if (!this.o.policy) return;
    let n = 0;
    for (const record of records()) {
      if (stopped()) return;
      this.treatmentOf(record);
      if (++n % WARM_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  subject(id: string): ImageRecord | undefined {
    return this.o.record(id);
  }

  /** treatmentOf() the image with this id as the index holds it (the access rules ask by id: their subject may be a part of a record). */
  treatment(id: string): Treatment | undefined {
    if (!this.o.policy) return undefined;
    const record = this.o.record(id);
    return record ? this.treatmentOf(record) : undefined;
  }

  /** judgeRecord() of the image with this id as the index holds it. */
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

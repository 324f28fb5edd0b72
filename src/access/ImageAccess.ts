import type { Principal } from '../auth/Principal.ts';
import { denied, forbidden, notFound, unauthenticated, VisorError } from '../errors/VisorError.ts';
import type { InstanceIdentity } from '../federation/InstanceIdentity.ts';
import type { SiteOverlay } from '../federation/SiteOverlay.ts';
import type { GrantStore } from './GrantStore.ts';
import { atLeast, higher, type AccessLevel } from './Permission.ts';
import type { ImageScan } from '../api/ImageRecord.ts';
import { isQuarantined } from '../scanning/Quarantine.ts';
import { redactJudgement, type PolicyJudgement, type Treatment } from '../trust/TrustPolicy.ts';

/** What the site's trust policy makes of an image (src/trust/SiteTrust.ts); undefined: no policy, or no such record. */
export interface TrustJudge {
  /** Grows whenever judgements were dropped (new statements or endorsers); they also change with time (lapses, rechecks). */
  readonly version: number;
  /** What the policy does with the image: the question of every record of every list, so answered from a cache. */
  treatment(id: string): Treatment | undefined;
  judge(id: string): PolicyJudgement | undefined;
  /** The record of an image, to tell whether a caller may see a base a judgement names. */
  subject(id: string): AccessSubject | undefined;
}

/** The fields of an image record that access depends on. */
export interface AccessSubject {
  id: string;
  owner: string;
  origin?: string | undefined;
  access?: 'public' | 'private' | undefined;
  scan?: ImageScan | undefined;
}

const ACTION: Record<Exclude<AccessLevel, 'none'>, string> = {
  checkout: 'see',
  commit: 'change',
  manage: 'delete, publish, share or name in a series',
};

/**
 * Every access decision about images, in one place (the paper's section 5.2.1). Admins and the owner
 * may do everything; anyone may check out a public image; users and groups granted `checkout` may see
 * and download a private one, those granted `commit` may also change its metadata and upload its file.
 * ImageService asks here for every operation, so every route gets the same rules.
 *
 * An image of another instance (its `origin`) is that instance's accounts' to change: here, where
 * the same names may be other people, nobody (admins neither) may do more than check it out. What a
 * site does not want to offer of it, it hides (the site overlay): hidden, it is as if it did not
 * exist for everyone but admins.
 *
 * The site's trust policy (trust.policy) is applied here too, so every route applies it alike: an
 * image the policy `refused` is as if it did not exist, and one it only `listed` is seen but never
 * downloaded (assertDownload) nor a series' latest, for everyone but its owner and admins.
 */
export class ImageAccess {
  private readonly grants: GrantStore;
  private readonly identity: InstanceIdentity;
  private readonly overlay: SiteOverlay;
  private readonly trust: TrustJudge | undefined;

  constructor(grants: GrantStore, identity: InstanceIdentity, overlay: SiteOverlay, trust?: TrustJudge) {
    this.grants = grants;
    this.identity = identity;
    this.overlay = overlay;
    this.trust = trust;
  }

  /** Admins, and the owner of one of this instance's images: the site's trust policy does not apply to them. */
  private unpoliced(who: Principal | undefined, image: AccessSubject): boolean {
    return who !== undefined && !who.syncOnly && (who.admin || (this.identity.isHome(image) && image.owner === who.name));
  }

  level(who: Principal | undefined, image: AccessSubject): AccessLevel {
    if (this.trust && !this.unpoliced(who, image) && this.trust.treatment(image.id) === 'refused') return 'none';
    // A quarantined image (an infected file) is its owner's and admins' alone: to anyone else, grantees
    // included, it is as if it did not exist, in lists as in answers.
    if (isQuarantined(image) && !(who !== undefined && !who.syncOnly && (who.admin || (this.identity.isHome(image) && image.owner === who.name)))) return 'none';
    const open: AccessLevel = image.access === 'public' ? 'checkout' : 'none';
    if (!this.identity.isHome(image)) return this.overlay.isHidden(image.id) && !(who?.admin === true && !who.syncOnly) ? 'none' : open;
    // A sync account sees what anyone sees: its name owns nothing and no grant reaches it.
    if (!who || who.syncOnly) return open;
    if (who.admin || image.owner === who.name) return 'manage';
    const g = this.grants.of(image.id);
    if (!g) return open;
    let level = higher(open, g.users[who.name] ?? 'none');
    for (const group of who.groups ?? []) level = higher(level, g.groups[group] ?? 'none');
    return level;
  }

  /**
   * Grows with every change of what decides access besides the records themselves and the caller:
   * grants, the site's hidden images, the trust policy's judgements (which also change with time).
   */
  get version(): number {
    return this.grants.version + this.overlay.version + (this.trust?.version ?? 0);
  }

  canSee(who: Principal | undefined, image: AccessSubject): boolean {
    return this.level(who, image) !== 'none';
  }

  /**
   * Throws unless the caller may act at `needed` on the image: 401 for an anonymous change, 404 when
   * the caller may not even see the image (exactly as if it did not exist), 403 otherwise.
   */
  assert(who: Principal | undefined, image: AccessSubject, needed: Exclude<AccessLevel, 'none'>): void {
    if (!who && needed !== 'checkout') throw unauthenticated();
    const level = this.level(who, image);
    if (level === 'none') throw denied(notFound(`image ${image.id}`), `${who?.name ?? 'anonymous'} may not see private image ${image.id}`);
    if (!atLeast(level, needed) && !this.identity.isHome(image)) {
      throw forbidden(`image ${image.id} belongs to ${this.identity.ownerName(image)}: only instance ${image.origin} can change it; a site that does not want to offer it hides it (PUT /policy/hidden/${image.id})`);
    }
    if (!atLeast(level, needed)) {
      throw forbidden(`${who?.name ?? 'anonymous'} may not ${ACTION[needed]} image ${image.id}${needed === 'manage' ? ' (only its owner and admins may)' : ' (it needs a commit grant)'}`);
    }
  }

  /** A judgement as the caller may read it: bases they cannot see are not described (src/trust/TrustPolicy.ts redactJudgement). */
  toldTo(who: Principal | undefined, judgement: PolicyJudgement): PolicyJudgement {
    return redactJudgement(judgement, (id) => {
      const base = this.trust?.subject(id);
      return base !== undefined && this.canSee(who, base);
    });
  }

  /** Whether the caller may download the image's file (and have it as a series' latest): seen, and offered by the site's trust policy. */
  canDownload(who: Principal | undefined, image: AccessSubject): boolean {
    if (!this.canSee(who, image)) return false;
    return !this.trust || this.unpoliced(who, image) || (this.trust.treatment(image.id) ?? 'downloadable') === 'downloadable';
  }

  /** Throws unless the caller may download the image's file: as assert(checkout), then 403 naming each rule of the site's trust policy it fails. */
  assertDownload(who: Principal | undefined, image: AccessSubject): void {
    this.assert(who, image, 'checkout');
    if (!this.trust || this.unpoliced(who, image)) return;
    const full = (this.trust.treatment(image.id) ?? 'downloadable') === 'downloadable' ? undefined : this.trust.judge(image.id);
    if (full && full.treatment !== 'downloadable') {
      const judgement = this.toldTo(who, full);
      const rules = [...new Set(judgement.failures.map((f) => f.rule))];
      const problems = judgement.failures.map((f) => ({ field: 'trust_policy', rule: f.rule, expected: 'an image the site trust policy offers for download', message: f.message }));
      throw new VisorError('forbidden', `image ${image.id} is not offered for download by this site's trust policy (rule ${rules.join(', ')}): ${judgement.failures.map((f) => f.message).join('; ')}`, problems);
    }
  }
}

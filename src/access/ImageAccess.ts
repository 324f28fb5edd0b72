import type { Principal } from '../auth/Principal.ts';
import { denied, forbidden, notFound, unauthenticated } from '../errors/VisorError.ts';
import type { GrantStore } from './GrantStore.ts';
import { atLeast, higher, type AccessLevel } from './Permission.ts';

/** The fields of an image record that access depends on. */
export interface AccessSubject {
  id: string;
  owner: string;
  access?: 'public' | 'private' | undefined;
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
 */
export class ImageAccess {
  private readonly grants: GrantStore;

  constructor(grants: GrantStore) {
    this.grants = grants;
  }

  level(who: Principal | undefined, image: AccessSubject): AccessLevel {
    const open: AccessLevel = image.access === 'public' ? 'checkout' : 'none';
    // A sync account sees what anyone sees: its name owns nothing and no grant reaches it.
    if (!who || who.syncOnly) return open;
    if (who.admin || image.owner === who.name) return 'manage';
    const g = this.grants.of(image.id);
    if (!g) return open;
    let level = higher(open, g.users[who.name] ?? 'none');
    for (const group of who.groups ?? []) level = higher(level, g.groups[group] ?? 'none');
    return level;
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
    if (!atLeast(level, needed)) {
      throw forbidden(`${who?.name ?? 'anonymous'} may not ${ACTION[needed]} image ${image.id}${needed === 'manage' ? ' (only its owner and admins may)' : ' (it needs a commit grant)'}`);
    }
  }
}

import type { ImageRecord } from '../api/ImageRecord.ts';
import { assertAdmin } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { invalidField, notFound } from '../errors/VisorError.ts';
import type { InstanceIdentity } from './InstanceIdentity.ts';
import type { HiddenImage, SiteOverlay } from './SiteOverlay.ts';

const IMAGE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_REASON = 1024;

/**
 * What a site's admins decide about the images it follows: which of another instance's images this
 * instance does not offer (GET/PUT/DELETE /policy/hidden). The upstream's record is left as it is;
 * the overlay takes effect in the access rules (src/access/ImageAccess.ts), so a hidden image is
 * absent from every route for everyone but admins. An id can be hidden before its record arrives.
 * This instance's own images are not hidden: they are deleted or made private, by their owners.
 */
export class SitePolicy {
  private readonly o: { overlay: SiteOverlay; identity: InstanceIdentity; record: (id: string) => ImageRecord | undefined };

  constructor(options: { overlay: SiteOverlay; identity: InstanceIdentity; record: (id: string) => ImageRecord | undefined }) {
    this.o = options;
  }

  hidden(who: Principal | undefined): HiddenImage[] {
    assertAdmin(who, 'read the site policy');
    return this.o.overlay.hidden();
  }

  hide(who: Principal | undefined, id: string, body: unknown): Promise<HiddenImage> {
    const admin = assertAdmin(who, 'hide images');
    if (!IMAGE_ID.test(id)) throw invalidField('id', 'pattern', 'an image id (a lower-case UUID)');
    const fields = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
    if (!fields) throw invalidField('(body)', 'type', 'a JSON object with the reason');
    const extra = Object.keys(fields).find((k) => k !== 'reason');
    if (extra !== undefined) throw invalidField(extra, 'additionalProperties', 'only reason');
    const reason = fields['reason'];
    if (typeof reason !== 'string' || reason.trim() === '' || reason.length > MAX_REASON) throw invalidField('reason', 'required', `why the site does not offer the image (1 to ${MAX_REASON} characters)`);
    const record = this.o.record(id);
    if (record && this.o.identity.isHome(record)) {
      throw invalidField('id', 'upstream-image', 'an image of another instance', `image ${id} is this instance's own: its owner deletes it or makes it private instead`);
    }
    return this.o.overlay.hide({ id, reason, by: admin.name, at: new Date().toISOString() });
  }

  /** Offers a hidden image again; answers what had been decided. */
  async unhide(who: Principal | undefined, id: string): Promise<HiddenImage> {
    assertAdmin(who, 'change the site policy');
    const removed = await this.o.overlay.unhide(id);
    if (!removed) throw notFound(`hidden image ${id}`);
    return removed;
  }
}

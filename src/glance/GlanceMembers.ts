import type { ImageRecord } from '../api/ImageRecord.ts';
import type { Grantee } from '../api/wire.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, forbidden, invalidField, notFound } from '../errors/VisorError.ts';
import type { ImageService } from '../images/ImageService.ts';
import { glanceDate } from './GlanceImageView.ts';
import type { GlanceImages } from './GlanceImages.ts';

/** An image member as Glance shows one. */
export interface GlanceMember {
  image_id: string;
  member_id: string;
  status: 'accepted';
  created_at: string;
  updated_at: string;
  schema: '/v2/schemas/member';
}

/** Which VISOR accounts exist: a Glance project is a VISOR group, or a user (a project of one). */
export interface ProjectDirectory {
  hasUser(name: string): boolean;
  hasGroup(name: string): boolean;
}

/**
 * Glance's image members as VISOR's grants: a member is a group (Glance's project) or a user granted
 * `checkout` on a private image, which Glance then shows as `shared`. VISOR's grants need no
 * acceptance, so every member is `accepted`; owners (and admins) add, list and remove them, through
 * ImageService's grant rules, as on VISOR's own grant routes.
 */
export class GlanceMembers {
  private readonly images: ImageService;
  private readonly glance: GlanceImages;
  private readonly projects: ProjectDirectory;

  constructor(images: ImageService, glance: GlanceImages, projects: ProjectDirectory) {
    this.images = images;
    this.glance = glance;
    this.projects = projects;
  }

  list(id: string, caller: Principal | undefined): { members: GlanceMember[]; schema: string } {
    const who = assertSignedIn(caller);
    const record = this.glance.record(id, who);
    const grants = this.images.grantsOf(id, who);
    const names = [...Object.keys(grants.groups), ...Object.keys(grants.users).filter((u) => !(u in grants.groups))];
    return { members: names.map((name) => memberOf(record, name)), schema: '/v2/schemas/members' };
  }

  show(id: string, member: string, caller: Principal | undefined): GlanceMember {
    this.grantee(id, member, caller);
    return memberOf(this.glance.record(id, caller), member);
  }

  async add(id: string, body: unknown, caller: Principal | undefined): Promise<GlanceMember> {
    const who = assertSignedIn(caller);
    const record = this.glance.record(id, who);
    const name = (body as { member?: unknown } | null)?.member;
    if (typeof name !== 'string' || name === '') throw invalidField('member', 'required', 'the member: a VISOR group (project) or user name');
    if (record.access === 'public') throw forbidden(`image ${id} is public: only shared images have members`);
    const grants = this.images.grantsOf(id, who);
    if (name in grants.groups || name in grants.users) throw conflict(`${name} is already a member of image ${id}`);
    await this.images.setGrant(id, this.granteeNamed(name), 'checkout', who);
    return memberOf(record, name);
  }

  /**
   * Glance's accept/reject, by the member itself: VISOR's grants are accepted as made, so only
   * `accepted` is taken (a no-op). A caller who sees a private image it does not own sees it through
   * a grant to its name or one of its groups: that is its membership.
   */
  update(id: string, member: string, body: unknown, caller: Principal | undefined): GlanceMember {
    const who = assertSignedIn(caller);
    const record = this.glance.record(id, who);
    const status = (body as { status?: unknown } | null)?.status;
    if (status !== 'accepted' && status !== 'pending' && status !== 'rejected') throw invalidField('status', 'enum', 'accepted, pending or rejected');
    if (who.name !== member && !(who.groups ?? []).includes(member)) throw forbidden(`only member ${member} may change its status`);
    if (record.access === 'public' || record.owner === who.name) throw notFound(`member ${member} of image ${id}`);
    if (status !== 'accepted') throw conflict(`VISOR shares need no acceptance: ${member} is an accepted member of image ${id} until the owner removes it`);
    return memberOf(record, member);
  }

  async remove(id: string, member: string, caller: Principal | undefined): Promise<void> {
    const who = assertSignedIn(caller);
    const grantee = this.grantee(id, member, who);
    await this.images.setGrant(id, grantee, undefined, who);
  }

  /** The grant a member stands for; 404 when the image has no such member. Owners and admins only (the core's grant rules). */
  private grantee(id: string, member: string, caller: Principal | undefined): Grantee {
    const who = assertSignedIn(caller);
    this.glance.record(id, who);
    const grants = this.images.grantsOf(id, who);
    if (member in grants.groups) return { kind: 'group', name: member };
    if (member in grants.users) return { kind: 'user', name: member };
    throw notFound(`member ${member} of image ${id}`);
  }

  /** A project name as a grantee: a group when one has the name, else a user. */
  private granteeNamed(name: string): Grantee {
    if (this.projects.hasGroup(name)) return { kind: 'group', name };
    if (this.projects.hasUser(name)) return { kind: 'user', name };
    throw invalidField('member', 'exists', 'a VISOR group (project) or user', `member: no group or user ${name}`);
  }
}

/** Grants keep no dates of their own: a member shows the image's. */
function memberOf(r: ImageRecord, name: string): GlanceMember {
  return { image_id: r.id, member_id: name, status: 'accepted', created_at: glanceDate(r.created_at), updated_at: glanceDate(r.updated_at), schema: '/v2/schemas/member' };
}

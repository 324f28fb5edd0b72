import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ImageSchema } from '../catalog/ImageSchema.ts';
import { newerInSeries, type CatalogIndex } from '../catalog/CatalogIndex.ts';
import { removalMessage, type CatalogRepositories } from '../catalog/CatalogRepositories.ts';
import { imageHistory, type HistoryEntry } from '../catalog/ImageHistory.ts';
import type { ImageQuery, SortDirection } from '../catalog/ImageQuery.ts';
import type { ImageInput, ImageRecord } from '../api/ImageRecord.ts';
import { referrers } from '../catalog/CatalogRules.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, denied, forbidden, invalid, invalidField, notFound, preconditionFailed, VisorError, type FieldProblem } from '../errors/VisorError.ts';
import type { GrantStore } from '../access/GrantStore.ts';
import type { InstanceIdentity } from '../federation/InstanceIdentity.ts';
import type { Grantee, ImageGrantsView, Permission } from '../access/Permission.ts';
import type { ImageLedger } from './ImageLedger.ts';
import type { ImageViews } from './ImageViews.ts';
import type { ImageTrust } from '../trust/ImageTrust.ts';
import type { PolicyJudgement } from '../trust/TrustPolicy.ts';
import type { SiteTrust } from '../trust/SiteTrust.ts';

export interface ImageServiceOptions {
  ledger: ImageLedger;
  views: ImageViews;
  schema: ImageSchema;
  index: CatalogIndex;
  catalogs: CatalogRepositories;
  defaultStore: string;
  /** This instance: new images are its accounts' (their origin), and others' owners are named owner@origin. */
  identity: InstanceIdentity;
  stats: AccessStats;
  grants: GrantStore;
  /** Whether a grant names an existing user or group of this instance. */
  accounts: { hasUser(name: string): boolean; hasGroup(name: string): boolean };
  /** Removes a deleted image's objects from its stores (src/image-files/StoredObjects.ts). */
  objects: { discard(id: string, locations: ImageRecord['locations']): Promise<void> };
  onError?: (id: string, error: unknown) => void;
  /** The site's trust policy and how images are judged against it (src/trust/SiteTrust.ts). */
  siteTrust: SiteTrust;
}

export interface ListResult<T> {
  images: T[];
  nextMarker?: string;
}

/**
 * Images' metadata and grants: what the REST routes, the CLI's server side and tests call to list,
 * read, register, change and delete images and to share them. Every change goes through the ledger
 * (lock, rules, commit); reads come from the in-memory index, filtered by what the caller may see.
 */
export class ImageService {
  private readonly o: ImageServiceOptions;

  constructor(options: ImageServiceOptions) {
    this.o = options;
  }

  get views(): ImageViews {
    return this.o.views;
  }

  get size(): number {
    return this.o.index.size;
  }

  list(query: ImageQuery, who: Principal | undefined): ListResult<ImageRecord> {
    const page = this.o.index.query(query, (r) => this.o.ledger.canSee(who, r));
    return { images: page.items, ...(page.nextMarker ? { nextMarker: page.nextMarker } : {}) };
  }

  /**
   * One page of the images the caller may see that match `filter` (VISOR's own list filters: the
   * index narrows by them first) and that `accept` takes, in the index's order by one field (ties by
   * id, same direction): for an edge whose filters are its own (Glance v2), at the cost of VISOR's
   * own lists (the index walks its kept order, or the few candidates, and stops at the page's end).
   */
  listWhere(
    order: { sort: string; dir: SortDirection },
    page: { limit: number; marker?: string | undefined },
    who: Principal | undefined,
    filter: Pick<ImageQuery, 'equals' | 'ranges' | 'tags' | 'properties'>,
    accept: (r: ImageRecord) => boolean,
  ): ListResult<ImageRecord> {
    const query: ImageQuery = { ...filter, ...order, limit: page.limit, ...(page.marker !== undefined ? { marker: page.marker } : {}) };
    const found = this.o.index.query(query, (r) => this.o.ledger.canSee(who, r) && accept(r));
    return { images: found.items, ...(found.nextMarker ? { nextMarker: found.nextMarker } : {}) };
  }

  get(id: string, who: Principal | undefined): ImageRecord {
    return this.o.ledger.find(id, who);
  }

  /**
   * The newest available image of a series the caller may see, of one owner: a series is a namespace
   * per owner, and "the newest of anyone's" would hand whoever uploads last — a stranger's public
   * image — to everyone who follows the series. Without `owner`, a series whose visible images have
   * several owners is refused, naming them (only owners of images the caller sees), not guessed.
   * Owners are named as this instance names them: `alice` here, `alice@origin` for another
   * instance's account. An upstream's images never take a series over from this instance's own:
   * while any of this instance's owners has one available, only they count unless `owner` names
   * the upstream's.
   */
  latest(series: string, who: Principal | undefined, named?: string): ImageRecord {
    const { identity } = this.o;
    let owner = named;
    if (owner === undefined) {
      // Only images the caller may download: the site's trust policy's `listed` ones are never a latest.
      const available = (x: ImageRecord) => x.status === 'available' && this.servable(who, x);
      let owners = this.o.index.ownersOfSeries(series, (x) => identity.isHome(x) && available(x), (x) => x.owner);
      if (owners.size === 0) owners = this.o.index.ownersOfSeries(series, available, (x) => identity.ownerName(x));
      // A caller with images of their own in the series means theirs: another owner's upload there
      // can neither take over their latest nor make it ambiguous.
      if (owners.size > 1 && who !== undefined && owners.has(who.name)) owner = who.name;
      else if (owners.size > 1) {
        const names = [...owners].sort();
        throw new VisorError('conflict', `series ${series} has available images of ${names.length} owners (${names.join(', ')}): name one with owner`, [
          { field: 'owner', rule: 'required', expected: `one of ${names.join(', ')}`, message: `owner: series ${series} has images of several owners` },
        ]);
      } else owner = [...owners][0];
    }
    const ofOwner = (x: ImageRecord) => owner === undefined || identity.ownerName(x) === owner;
    const seen = (x: ImageRecord) => ofOwner(x) && this.servable(who, x);
    const r = this.o.index.latestOfSeries(series, seen);
    if (r) return r;
    const hidden = this.o.index.latestOfSeries(series, ofOwner) !== undefined;
    const missing = notFound(`available image in series ${series}${owner === undefined ? '' : ` of ${owner}`}`);
    throw hidden ? denied(missing, `${who?.name ?? 'anonymous'} may see no available image of series ${series}`) : missing;
  }

  /**
   * The latest image of every series the caller may download from, one per series and owner (each
   * as `latest` with that owner picks it), by series then owner: the web catalogue's series page.
   */
  latestOfEachSeries(who: Principal | undefined): ImageRecord[] {
    const { identity } = this.o;
    const best = new Map<string, ImageRecord>();
    // One pass: the access check (the costly part) only for an image later than the best so far.
    for (const r of this.o.index.all()) {
      if (r.series === undefined || r.status !== 'available') continue;
      const key = `${r.series}\u0000${identity.ownerName(r)}`;
      const b = best.get(key);
      if ((b === undefined || newerInSeries(r, b)) && this.servable(who, r)) best.set(key, r);
    }
    return [...best.keys()].sort().map((k) => best.get(k)!);
  }

  /**
   * Whether a series' latest may be this image for the caller: one whose file they may download. A
   * deactivated image's file is served to admins only, so for anyone else it is never the latest
   * (its latest/file would lead to a 403 where an older active version serves).
   */
  private servable(who: Principal | undefined, r: ImageRecord): boolean {
    return (r.deactivated === undefined || who?.admin === true) && this.o.ledger.canDownload(who, r);
  }

  /** The image's owner as this instance names them: `alice` for its own accounts, `alice@origin` for another instance's. */
  ownerName(r: ImageRecord): string {
    return this.o.identity.ownerName(r);
  }

  /** Each change of a visible image, newest first, from the Git history of the catalogues. */
  async history(id: string, caller: Principal | undefined): Promise<HistoryEntry[]> {
    const r = this.o.ledger.find(id, caller);
    // Each version as its access and owner were then (grants are today's: they are not versioned).
    const mayRead = (v: Record<string, unknown>) =>
      this.o.ledger.canSee(caller, { id: r.id, owner: String(v['owner']), origin: typeof v['origin'] === 'string' ? v['origin'] : undefined, access: v['access'] === 'public' ? 'public' : 'private' });
    return imageHistory([this.o.catalogs.shared, this.o.catalogs.private], r.id, mayRead);
  }

  /**
   * The trust of a visible image (GET /images/:id/endorsements): its endorsements and their states
   * (its statements in either catalogue, judged against the shared catalogue's endorser list, the one
   * upstreams and mirrors carry), its deprecation, its ancestry as far as the caller may see it, and,
   * when the site has a trust policy, what that policy makes of it.
   */
  trust(id: string, caller: Principal | undefined): ImageTrust & { policy?: PolicyJudgement } {
    const r = this.o.ledger.find(id, caller);
    return this.o.siteTrust.view(r, (rid) => {
      const base = this.o.index.get(rid);
      return base && this.o.ledger.canSee(caller, base) ? base : undefined;
    });
  }

  /** Every image the caller may see, in no order: for an edge that filters and sorts in its own terms (Glance v2). */
  visible(who: Principal | undefined): ImageRecord[] {
    const out: ImageRecord[] = [];
    for (const r of this.o.index.all()) if (this.o.ledger.canSee(who, r)) out.push(r);
    return out;
  }

  /** Whether a user or group has been granted anything on the image (Glance v2 calls such a private image shared). */
  isShared(id: string): boolean {
    const g = this.o.grants.of(id);
    return g !== undefined && (Object.keys(g.users).length > 0 || Object.keys(g.groups).length > 0);
  }

  /** Number of images the caller may see (what /health reports: a private image is not counted for others). */
  countVisible(who: Principal | undefined): number {
    if (who?.admin) return this.o.index.size;
    let n = 0;
    for (const r of this.o.index.all()) if (this.o.ledger.canSee(who, r)) n++;
    return n;
  }

  async create(body: unknown, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const input = this.readInput(body, undefined);
    const now = new Date().toISOString();
    const record = {
      access: 'private',
      store: this.o.defaultStore,
      ...input,
      ...(input.deprecation === undefined ? {} : { deprecation: stampDeprecation(input.deprecation, who.name) }),
      id: randomUUID(),
      status: 'locked',
      owner: who.name,
      origin: this.o.identity.name,
      created_at: now,
      updated_at: now,
    } as ImageRecord;
    await this.claimingName(record, async () => {
      this.o.ledger.check(record, who, undefined);
      await this.o.ledger.commit(record, who, `Register image ${record.id} "${record.name}"`);
    });
    return record;
  }

  /**
   * Runs a write that gives an image a name in a series alone for that name: two creates (or renames)
   * racing for one name must not both pass the unique-in-series check before either commits.
   */
  private claimingName(record: ImageRecord, write: () => Promise<void>): Promise<void> {
    return record.series === undefined ? write() : this.o.ledger.locked(`series:${record.series}:${record.name}`, write);
  }

  async update(id: string, body: unknown, caller: Principal | undefined, ifMatch?: string): Promise<ImageRecord> {
    // Authentication comes first: an anonymous write is a 401 whether or not the image is visible.
    const who = assertSignedIn(caller);
    const { ledger } = this.o;
    ledger.find(id, who, 'commit');
    return ledger.locked(id, async () => {
      const current = ledger.find(id, who, 'commit');
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== this.o.views.etag(current)) {
        throw preconditionFailed(`image ${id} changed since ${ifMatch} (now ${this.o.views.etag(current)})`);
      }
      const input = this.readInput(body, current);
      const next = { ...current } as Record<string, unknown>;
      const changed: string[] = [];
      for (const [field, value] of Object.entries(input)) {
        if (isDeepStrictEqual(next[field], value ?? undefined)) continue;
        changed.push(field);
        if (value === null) delete next[field];
        else next[field] = value;
      }
      if (changed.length === 0) return current;
      // Publishing or unpublishing is the owner's decision, not a commit grantee's; so is guarding it
      // against deletion, which only the owner may do (a grantee's protected would lock the owner out).
      if (changed.includes('access') || changed.includes('protected')) ledger.find(id, who, 'manage');
      // So is retiring it: the server says when and by whom, whatever the body said.
      if (changed.includes('deprecation')) {
        ledger.find(id, who, 'manage');
        if (next['deprecation'] !== undefined) next['deprecation'] = stampDeprecation(next['deprecation'], who.name);
      }
      // So is naming it in a series: the name is judged against the owner's other images there, which
      // a commit grantee may not all see, and a refusal would tell them one holds the name.
      if (next['series'] !== undefined && (changed.includes('name') || changed.includes('series'))) ledger.find(id, who, 'manage');
      if (changed.includes('store') && current.locations?.length) {
        throw conflict(`image ${id} already has its file in store ${current.locations[0]!.store}; its store cannot change`);
      }
      if (changed.includes('type') && current.type !== next['type']) {
        const users = referrers(id, ledger.all());
        if (users.length > 0) throw conflict(`image ${id} is the ${current.type} of ${ledger.describe(users, who).join(', ')}; its type cannot change`);
      }
      next['updated_at'] = new Date().toISOString();
      const record = next as unknown as ImageRecord;
      await this.claimingName(record, async () => {
        ledger.check(record, who, current);
        await ledger.commit(record, who, `Update image ${id}: ${changed.join(', ')}`);
      });
      return record;
    });
  }

  async remove(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const { ledger } = this.o;
    ledger.find(id, who, 'manage');
    return ledger.locked(id, async () => {
      const current = ledger.find(id, who, 'manage');
      if (current.protected === true) throw forbidden(`image ${id} is protected: set protected to false before deleting it`);
      const users = referrers(id, ledger.all());
      if (users.length > 0) throw conflict(`image ${id} is the ${current.type} of ${ledger.describe(users, who).join(', ')}; delete or change those first`);
      await ledger.erase(current, who, removalMessage(current));
      this.o.stats.forget(id);
      await this.o.grants.forgetImage(id).catch((e: unknown) => this.o.onError?.(id, e));
      // The record is gone either way.
      await this.o.objects.discard(id, current.locations);
      return current;
    });
  }

  /**
   * Takes an available image out of use (deactivated) or puts it back: its file is then served to
   * admins only, whichever edge asks (Glance v2's deactivate and reactivate, admin-only as in Glance's
   * default policy: an owner could otherwise undo what an admin did over a bad image).
   */
  async setDeactivated(id: string, deactivated: boolean, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const { ledger } = this.o;
    ledger.find(id, who);
    if (!who.admin) throw forbidden(`${who.name} may not ${deactivated ? 'deactivate' : 'reactivate'} image ${id} (only admins may)`);
    return ledger.locked(id, async () => {
      const current = ledger.find(id, who, 'manage');
      if (current.status !== 'available') throw conflict(`image ${id} is ${current.status}; only an available image can be ${deactivated ? 'deactivated' : 'reactivated'}`);
      if ((current.deactivated !== undefined) === deactivated) return current;
      const now = new Date().toISOString();
      const { deactivated: _was, ...rest } = current;
      const record: ImageRecord = deactivated ? { ...rest, deactivated: { at: now, by: who.name }, updated_at: now } : { ...rest, updated_at: now };
      ledger.check(record, who, current);
      await ledger.commit(record, who, `${deactivated ? 'Deactivate' : 'Reactivate'} image ${id}`);
      return record;
    });
  }

  /** The image's grants: its owner and admins may read them. */
  grantsOf(id: string, caller: Principal | undefined): ImageGrantsView {
    const who = assertSignedIn(caller);
    const r = this.o.ledger.find(id, who, 'manage');
    const g = this.o.grants.of(id) ?? { users: {}, groups: {} };
    return { image: id, owner: r.owner, access: r.access ?? 'private', users: { ...g.users }, groups: { ...g.groups } };
  }

  /**
   * Grants (permission given) or revokes (undefined) a permission to a user or group of this instance.
   * Only the owner and admins may; grants live in the instance's grant store, not in the record.
   */
  async setGrant(id: string, grantee: Grantee, permission: Permission | undefined, caller: Principal | undefined): Promise<ImageGrantsView> {
    const who = assertSignedIn(caller);
    return this.o.ledger.locked(id, async () => {
      const r = this.o.ledger.find(id, who, 'manage');
      const field = grantee.kind;
      if (permission !== undefined) {
        const exists = grantee.kind === 'user' ? this.o.accounts.hasUser(grantee.name) : this.o.accounts.hasGroup(grantee.name);
        if (!exists) throw invalidField(field, 'exists', `an existing ${field} of this instance`, `${field}: no ${field} ${grantee.name}`);
        if (grantee.kind === 'user' && grantee.name === r.owner) throw invalidField(field, 'owner', 'someone other than the owner', `${field}: ${grantee.name} owns image ${id} and already has every permission`);
      } else if (this.o.grants.of(id)?.[grantee.kind === 'user' ? 'users' : 'groups'][grantee.name] === undefined) {
        throw notFound(`grant to ${field} ${grantee.name} on image ${id}`);
      }
      await this.o.grants.set(id, grantee, permission);
      return this.grantsOf(id, who);
    });
  }

  /** The client's fields for a create (current undefined) or an update, checked for read-only ones. */
  private readInput(body: unknown, current: ImageRecord | undefined): ImageInput & Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidField('(body)', 'type', 'a JSON object of image fields');
    }
    const problems: FieldProblem[] = [];
    const input: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
      if (this.o.schema.readOnlyFields.has(field)) {
        // Sending back a value unchanged (GET, edit, PUT) is fine; changing it is not.
        const stored = current as unknown as Record<string, unknown> | undefined;
        if (stored && isDeepStrictEqual(stored[field], value)) continue;
        if (stored && (field === 'uri' || field === 'access_count' || field === 'accessed_at')) continue;
        problems.push({ field, rule: 'readOnly', expected: 'no value: the server sets this field', message: `${field} is read-only` });
        continue;
      }
      if (value === null && current === undefined) continue;
      input[field] = value;
    }
    if (problems.length > 0) throw invalid(`read-only fields cannot be set: ${problems.map((p) => p.field).join(', ')}`, problems);
    return input as ImageInput & Record<string, unknown>;
  }
}

/** A deprecation as the server keeps it: when and by whom are the server's to say. */
function stampDeprecation(value: unknown, by: string): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value; // the schema refuses it, naming the field
  return { ...(value as Record<string, unknown>), at: new Date().toISOString(), by };
}

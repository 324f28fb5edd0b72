import type { ImageRecord } from '../api/ImageRecord.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { invalidField, notFound } from '../errors/VisorError.ts';
import type { ImageService } from '../images/ImageService.ts';
import { glanceImageOf, type GlanceImage } from './GlanceImageView.ts';
import { visorFieldsOf, type GlanceValue } from './GlanceFields.ts';
import { applyPatch, type PatchOperation } from './GlancePatch.ts';
import { parseGlanceListQuery } from './GlanceListQuery.ts';
import { indexFilterOf } from './GlanceIndexFilter.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Glance sort keys the catalogue index keeps an order for, as VISOR names them: a list sorted by one
 * of them walks that order and stops at the page's end, as VISOR's own lists do. Missing values sort
 * first there as Glance's nulls do, and VISOR's statuses sort as their Glance names (available/active,
 * error/killed, locked/queued, uploading/saving). Only visibility (partly kept outside the record)
 * has no such order.
 */
const INDEXED_ORDER: Readonly<Record<string, string>> = {
  name: 'name', created_at: 'created_at', updated_at: 'updated_at', id: 'id', owner: 'owner', size: 'size', virtual_size: 'virtual_size',
  min_ram: 'min_ram', min_disk: 'min_disk', status: 'status', disk_format: 'disk', container_format: 'container_format',
};

/**
 * Several sort keys are sorted in full, over every image the caller sees (~1 s of CPU at 100,000):
 * refused beyond this many, so that no caller, anonymous ones included, can make each request that dear.
 */
export const GLANCE_FULL_SORT_MAX = 10_000;

export interface GlanceList {
  images: GlanceImage[];
  first: string;
  next?: string;
  schema: string;
}

/**
 * Glance v2's images over VISOR's one core: every read and write is an ImageService call with the
 * caller's principal, so access (owner, grantee, stranger, anonymous) is decided exactly as on
 * VISOR's own routes. Only names, shapes and Glance's conventions are translated here.
 */
export class GlanceImages {
  private static readonly instances = new WeakMap<ImageService, GlanceImages>();

  /** The one Glance view of a core's images: the Koa routes and the hot read path share its caches. */
  static of(images: ImageService): GlanceImages {
    let glance = GlanceImages.instances.get(images);
    if (glance === undefined) {
      glance = new GlanceImages(images);
      GlanceImages.instances.set(images, glance);
    }
    return glance;
  }

  private readonly images: ImageService;
  /** A record's view without its visibility (grants live outside it): records are replaced, never changed, so one per version. */
  private readonly views = new WeakMap<ImageRecord, GlanceImage>();
  /** JSON.stringify of those views, per version too: a read is then assembled as text. */
  private readonly texts = new WeakMap<ImageRecord, string>();

  private readonly fullSortMax: number;

  constructor(images: ImageService, options: { fullSortMax?: number } = {}) {
    this.images = images;
    this.fullSortMax = options.fullSortMax ?? GLANCE_FULL_SORT_MAX;
  }

  view(r: ImageRecord): GlanceImage {
    let v = this.views.get(r);
    if (v === undefined) {
      v = glanceImageOf(r, false);
      this.views.set(r, v);
    }
    return r.access === 'private' && this.images.isShared(r.id) ? { ...v, visibility: 'shared' } : v;
  }

  /** JSON text of view(r). */
  viewJson(r: ImageRecord): string {
    if (r.access === 'private' && this.images.isShared(r.id)) return JSON.stringify(this.view(r));
    let text = this.texts.get(r);
    if (text === undefined) {
      text = JSON.stringify(this.view(r));
      this.texts.set(r, text);
    }
    return text;
  }

  showJson(id: string, who: Principal | undefined): string {
    return this.viewJson(this.record(id, who));
  }

  /** The image, if the caller may see it: a non-UUID id is simply not found (`openstack image show NAME` looks by id first). */
  record(id: string, who: Principal | undefined): ImageRecord {
    if (!UUID.test(id)) throw notFound(`image ${id}`);
    return this.images.get(id, who);
  }

  show(id: string, who: Principal | undefined): GlanceImage {
    return this.view(this.record(id, who));
  }

  list(params: URLSearchParams, who: Principal | undefined): GlanceList {
    const { records, ...links } = this.page(params, who);
    return { images: records.map((r) => this.view(r)), ...links };
  }

  /** The list answer as JSON text, each image's text cached per version. */
  listJson(params: URLSearchParams, who: Principal | undefined): string {
    const { records, ...links } = this.page(params, who);
    return `{"images":[${records.map((r) => this.viewJson(r)).join(',')}],${JSON.stringify(links).slice(1)}`;
  }

  private page(params: URLSearchParams, who: Principal | undefined): Omit<GlanceList, 'images'> & { records: ImageRecord[] } {
    const q = parseGlanceListQuery(params, who?.name);
    const schema = '/v2/schemas/images';
    if (q.limit === 0) return { records: [], first: q.first, schema };
    const [only, ...more] = q.keys;
    // A trailing id in the same direction is the index's own tie-break.
    const field = only === undefined || more.some(([k, d]) => k !== 'id' || d !== only[1]) ? undefined : INDEXED_ORDER[only[0]];
    if (field !== undefined) {
      const page = this.images.listWhere({ sort: field, dir: only![1] }, { limit: q.limit, marker: q.marker }, who, indexFilterOf(params), (r) => q.matches(this.view(r)));
      return { records: page.images, first: q.first, ...(page.nextMarker !== undefined ? { next: q.next(page.nextMarker) } : {}), schema };
    }
    // Several keys, or one the index keeps no order for: every image the caller sees, filtered and sorted here.
    const records = this.images.visible(who);
    if (records.length > this.fullSortMax) {
      throw invalidField('sort', 'single-key', `one sort key (${Object.keys(INDEXED_ORDER).join(', ')}) over more than ${this.fullSortMax} images`, `sort: ${q.keys.map(([k, d]) => `${k}:${d}`).join(',')} would sort ${records.length} images in full; sort by one key`);
    }
    const viewed = records.map((r) => ({ r, v: this.view(r) }));
    let after: GlanceImage | undefined;
    if (q.marker !== undefined) {
      // The marker is found among all the images the caller sees (filtered or not): its sort values place the page.
      after = viewed.find((x) => x.v.id === q.marker)?.v;
      if (after === undefined) throw invalidField('marker', 'exists', 'the id of an image in the previous page', `marker: no image ${q.marker}`);
    }
    const selected = viewed.filter((x) => q.matches(x.v) && (after === undefined || q.compare(after, x.v) < 0)).sort((x, y) => q.compare(x.v, y.v));
    const page = selected.slice(0, q.limit);
    const last = page[page.length - 1];
    return { records: page.map((x) => x.r), first: q.first, ...(last !== undefined && page.length === q.limit && selected.length > q.limit ? { next: q.next(last.v.id) } : {}), schema };
  }

  async create(body: unknown, caller: Principal | undefined): Promise<GlanceImage> {
    const who = assertSignedIn(caller);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidField('(body)', 'type', 'a JSON object of image properties');
    const fields = new Map<string, GlanceValue>(Object.entries(body as Record<string, unknown>));
    if (fields.has('id')) throw invalidField('id', 'readOnly', 'no id: VISOR chooses image ids', 'id: VISOR chooses image ids; leave it out');
    const input = visorFieldsOf(fields, undefined, who);
    // Glance names are optional; VISOR's are not.
    input['name'] ??= 'unnamed';
    return this.view(await this.images.create(input, who));
  }

  async patch(id: string, ops: readonly PatchOperation[], caller: Principal | undefined): Promise<GlanceImage> {
    const who = assertSignedIn(caller);
    const current = this.record(id, who);
    const changes = applyPatch(this.view(current), ops);
    const input = visorFieldsOf(changes, current, who);
    return this.view(await this.images.update(id, input, who));
  }

  async remove(id: string, caller: Principal | undefined): Promise<void> {
    const who = assertSignedIn(caller);
    this.record(id, who);
    await this.images.remove(id, who);
  }

  /** Deactivates or reactivates an image (admins only, as the core decides). */
  async setDeactivated(id: string, deactivated: boolean, caller: Principal | undefined): Promise<void> {
    const who = assertSignedIn(caller);
    this.record(id, who);
    await this.images.setDeactivated(id, deactivated, who);
  }

  /** Adds a tag (idempotent). */
  async tag(id: string, tag: string, caller: Principal | undefined): Promise<void> {
    const who = assertSignedIn(caller);
    const current = this.record(id, who);
    const tags = current.tags ?? [];
    if (!tags.includes(tag)) await this.images.update(id, { tags: [...tags, tag] }, who);
  }

  /** Removes a tag: 404 when the image does not carry it. */
  async untag(id: string, tag: string, caller: Principal | undefined): Promise<void> {
    const who = assertSignedIn(caller);
    const current = this.record(id, who);
    const tags = current.tags ?? [];
    if (!tags.includes(tag)) throw notFound(`tag ${tag} on image ${id}`);
    await this.images.update(id, { tags: tags.filter((t) => t !== tag) }, who);
  }
}

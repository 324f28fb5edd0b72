import { createHash } from 'node:crypto';
import type { ImageSchema } from '../catalog/ImageSchema.ts';
import { BRIEF_FIELDS, type ImageBrief, type ImageRecord, type ImageView } from '../api/ImageRecord.ts';
import { serializeRecord } from '../catalog/RecordFile.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';

/**
 * How records are shown: the full view (with the instance's uri and live access counters), the
 * brief one, their JSON texts and the ETag. Records are never changed in place (a change replaces
 * the object), so what is derived from one record alone is computed once per version: the brief view
 * and the ETag were ~40% of a read.
 */
export class ImageViews {
  private readonly schema: ImageSchema;
  private readonly stats: AccessStats;
  private base: string;
  private readonly etags = new WeakMap<ImageRecord, string>();
  // These hold the uri, so they are dropped when the base changes.
  private briefs = new WeakMap<ImageRecord, ImageBrief>();
  private briefTexts = new WeakMap<ImageRecord, string>();
  private viewTexts = new WeakMap<ImageRecord, string>();
  private bases = 0;

  constructor(options: { schema: ImageSchema; stats: AccessStats; publicUrl: string }) {
    this.schema = options.schema;
    this.stats = options.stats;
    this.base = options.publicUrl;
  }

  /** Base of image uris, e.g. http://127.0.0.1:4568. */
  get publicUrl(): string {
    return this.base;
  }

  /** The daemon sets it once it knows the port it listens on (port 0 in tests). */
  set publicUrl(url: string) {
    if (url === this.base) return;
    this.base = url;
    this.bases++;
    this.briefs = new WeakMap();
    this.briefTexts = new WeakMap();
    this.viewTexts = new WeakMap();
  }

  /**
   * Grows whenever a view of an unchanged record may read differently: the base of uris, and for full
   * views (`counters`) any access counter.
   */
  version(counters: boolean): number {
    return this.bases + (counters ? this.stats.version : 0);
  }

  /** Where this instance serves the record. */
  private uriOf(r: ImageRecord): string {
    return `${this.base}/images/${r.id}`;
  }

  view(r: ImageRecord): ImageView {
    const stats = this.stats.get(r.id);
    return { ...r, uri: this.uriOf(r), access_count: stats?.count ?? 0, ...(stats ? { accessed_at: stats.last } : {}) };
  }

  /** JSON.stringify(view(r)), built from the record's text (cached per version) and its live counters. */
  viewJson(r: ImageRecord): string {
    let text = this.viewTexts.get(r);
    if (text === undefined) {
      // uri, access_count and accessed_at are never stored, so they follow the record's own fields.
      text = JSON.stringify({ ...r, uri: this.uriOf(r) }).slice(0, -1);
      this.viewTexts.set(r, text);
    }
    const stats = this.stats.get(r.id);
    return `${text},"access_count":${stats?.count ?? 0}${stats ? `,"accessed_at":${JSON.stringify(stats.last)}` : ''}}`;
  }

  brief(r: ImageRecord): ImageBrief {
    let brief = this.briefs.get(r);
    if (!brief) {
      const v = { ...r, uri: this.uriOf(r) } as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of BRIEF_FIELDS) if (v[f] !== undefined) out[f] = v[f];
      brief = out as unknown as ImageBrief;
      this.briefs.set(r, brief);
    }
    return brief;
  }

  briefJson(r: ImageRecord): string {
    let text = this.briefTexts.get(r);
    if (text === undefined) {
      text = JSON.stringify(this.brief(r));
      this.briefTexts.set(r, text);
    }
    return text;
  }

  /** Strong validator of a record's stored content, for ETag and If-Match. */
  etag(r: ImageRecord): string {
    let tag = this.etags.get(r);
    if (!tag) {
      tag = `"${createHash('sha256').update(serializeRecord(r, this.schema)).digest('base64url').slice(0, 27)}"`;
      this.etags.set(r, tag);
    }
    return tag;
  }
}

import { parse as parseQuery } from 'node:querystring';
import { LRUCache } from 'lru-cache';
import type { Principal } from '../auth/Principal.ts';
import type { ImageSchema } from '../catalog/ImageSchema.ts';
import { parseImageQuery, queryToParams } from '../catalog/ImageQuery.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import type { ImageLedger } from './ImageLedger.ts';
import type { ImageService } from './ImageService.ts';
import type { ImageViews } from './ImageViews.ts';

export interface ListPagesOptions {
  images: ImageService;
  ledger: Pick<ImageLedger, 'version' | 'canSee'>;
  views: ImageViews;
  schema: ImageSchema;
  /** Bytes kept in all (default 16 MiB), each page's records and key counted; a page over a sixteenth of it is never kept. */
  maxBytes?: number;
  /** How long a page is kept at most (default 1 s): trust judgements also change with time. */
  ttlMs?: number;
}

interface KeptPage {
  /** What the page was made from: ledger.version + views.version(detail) then. */
  version: number;
  records: readonly ImageRecord[];
  /** The record the query's `marker` named: the caller must still see it too, or the query is refused. */
  marker: ImageRecord | undefined;
  body: Buffer;
}

/** Longer keys (a query of kilobytes: a name or tag filter is not bounded) are answered, not kept. */
const MAX_KEY_LENGTH = 2048;
/** What a kept page's records may hold beyond the index (versions replaced since), counted at the size of a large record. */
const RECORD_BYTES = 1024;
/** Pages kept at most, whatever their size. */
const MAX_PAGES = 4096;

/**
 * The pages of GET /images and GET /images/detail as sent: a page of 25 full records is ~20 KB,
 * and assembling it (and encoding it) per request cost more than the rest of the request together.
 * A page is kept, as bytes, per caller (name, role and groups: all that decides what they see) and
 * query text, and sent again only while nothing it shows may have changed: no record put or
 * deleted, no grant, hidden image or trust judgement changed (their version numbers) and, for full
 * records, no access counter; at most `ttlMs`; and only if the caller may still see every record on
 * it and the one its marker names (trust judgements lapse with time, which no version number tells).
 */
export class ListPages {
  private readonly o: ListPagesOptions;
  private readonly kept: LRUCache<string, KeptPage>;
  /** Pages sent from what was kept, and pages made: read by the metrics at scrape time. */
  private readonly counts = { kept: 0, made: 0 };

  constructor(options: ListPagesOptions) {
    this.o = options;
    const maxSize = options.maxBytes ?? 16 * 1024 * 1024;
    this.kept = new LRUCache<string, KeptPage>({
      max: MAX_PAGES,
      maxSize,
      maxEntrySize: maxSize / 16,
      // Everything an entry holds: the bytes, the key (twice: the cache's map and its list), the records.
      sizeCalculation: (p, key) => p.body.length + 2 * key.length + RECORD_BYTES * (p.records.length + 1),
      ttl: options.ttlMs ?? 1000,
    });
  }

  /** What the kept pages hold, as counted against maxBytes: their bytes, keys and records. */
  get keptBytes(): number {
    return this.kept.calculatedSize;
  }

  /** Pages sent from what was kept and pages made, since the start. */
  get sent(): { kept: number; made: number } {
    return { ...this.counts };
  }

  /**
   * The JSON of one page of the records the caller may see that match the query (`search`, the URL's
   * query text), and the link to the next (`path` is the route's). Throws on a bad query.
   */
  page(path: string, search: string, who: Principal | undefined, detail: boolean): Buffer {
    const key = `${audienceOf(who)}\n${detail ? 'detail' : 'brief'}\n${path}?${search}`;
    const version = this.o.ledger.version + this.o.views.version(detail);
    const hit = this.kept.get(key);
    const { ledger } = this.o;
    if (hit && hit.version === version && (hit.marker === undefined || ledger.canSee(who, hit.marker)) && hit.records.every((r) => ledger.canSee(who, r))) {
      this.counts.kept++;
      return hit.body;
    }
    const query = parseImageQuery(parseQuery(search), this.o.schema);
    const page = this.o.images.list(query, who);
    this.counts.made++;
    const { views } = this.o;
    // Each record's text is made once per version (ImageViews): the page is assembled as text.
    const items = page.images.map((r) => (detail ? views.viewJson(r) : views.briefJson(r)));
    const next = page.nextMarker ? `,"next":${JSON.stringify(`${path}?${queryToParams(query, page.nextMarker).toString()}`)}` : '';
    const text = `{"images":[${items.join(',')}]${next}}`;
    // Its own memory, not a slice of Node's shared 8 KiB pool, which one small page kept would pin whole.
    const body = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
    body.write(text);
    if (key.length <= MAX_KEY_LENGTH) {
      // The list found the marker visible: it is in the index as the caller saw it.
      const marker = query.marker === undefined ? undefined : this.o.images.get(query.marker, who);
      this.kept.set(key, { version, records: page.images, marker, body });
    }
    return body;
  }
}

/** What decides which records a caller sees, besides the records themselves: who they are, their role and groups. */
function audienceOf(who: Principal | undefined): string {
  return who === undefined ? '' : JSON.stringify([who.name, who.admin, who.syncOnly === true, who.groups ?? []]);
}

import type { Principal } from '../src/auth/Principal.ts';
import type { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { parseImageQuery, queryToParams, type QueryParams } from '../src/catalog/ImageQuery.ts';
import type { ImageService } from '../src/images/ImageService.ts';

/** A successful read, ready to send: the Koa routes and the hot read path send the same ones. */
export interface ReadReply {
  status: 200 | 304;
  etag?: string;
  /** JSON text; absent for 304. */
  json?: string;
}

/** GET /images and GET /images/detail: a page of brief (or full) records, and the link to the next. */
export function listImages(service: ImageService, schema: ImageSchema, path: string, params: QueryParams, who: Principal | undefined, detail: boolean): ReadReply {
  const query = parseImageQuery(params, schema);
  const page = service.list(query, who);
  // Records are serialised once per version and cached: the page is assembled as text.
  const items = page.images.map((r) => (detail ? service.views.viewJson(r) : service.views.briefJson(r)));
  const next = page.nextMarker ? `,"next":${JSON.stringify(`${path}?${queryToParams(query, page.nextMarker).toString()}`)}` : '';
  return { status: 200, json: `{"images":[${items.join(',')}]${next}}` };
}

/** GET /images/:id, answering 304 when the client's copy (If-None-Match) is current. */
export function showImage(service: ImageService, id: string, who: Principal | undefined, ifNoneMatch: string | undefined): ReadReply {
  const r = service.get(id, who);
  const etag = service.views.etag(r);
  if (ifNoneMatch === etag) return { status: 304, etag };
  return { status: 200, etag, json: service.views.viewJson(r) };
}

import type { Principal } from '../src/auth/Principal.ts';
import type { ImageService } from '../src/images/ImageService.ts';
import type { ListPages } from '../src/images/ListPages.ts';

/** A successful read, ready to send: the Koa routes and the hot read path send the same ones. */
export interface ReadReply {
  status: 200 | 304;
  etag?: string;
  /** JSON; absent for 304. */
  json?: string | Buffer;
}

/** GET /images and GET /images/detail (`search`: the URL's query text): a page of brief (or full) records, and the link to the next. */
export function listImages(pages: ListPages, path: string, search: string, who: Principal | undefined, detail: boolean): ReadReply {
  return { status: 200, json: pages.page(path, search, who, detail) };
}

/** GET /images/:id, answering 304 when the client's copy (If-None-Match) is current. */
export function showImage(service: ImageService, id: string, who: Principal | undefined, ifNoneMatch: string | undefined): ReadReply {
  const r = service.get(id, who);
  const etag = service.views.etag(r);
  if (ifNoneMatch === etag) return { status: 304, etag };
  return { status: 200, etag, json: service.views.viewJson(r) };
}

import type { Principal } from '../src/auth/Principal.ts';
import type { ImageService } from '../src/images/ImageService.ts';
import { GlanceImages } from '../src/glance/GlanceImages.ts';
import type { ReadReply } from './imageReads.ts';

/** GET /v2/images: a page of Glance images (the Koa route and the hot read path send the same). */
export function glanceList(images: ImageService, query: string, who: Principal | undefined): ReadReply {
  return { status: 200, json: GlanceImages.of(images).listJson(new URLSearchParams(query), who) };
}

/** GET /v2/images/:id. */
export function glanceShow(images: ImageService, id: string, who: Principal | undefined): ReadReply {
  return { status: 200, json: GlanceImages.of(images).showJson(id, who) };
}

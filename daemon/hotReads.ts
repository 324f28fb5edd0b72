import { randomUUID } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import type { Principal } from '../src/auth/Principal.ts';
import type { ImageService } from '../src/images/ImageService.ts';
import type { ListPages } from '../src/images/ListPages.ts';
import { GLANCE_ROUTES, ROUTES, routeMatcher } from '../src/api/routes.ts';
import type { AuditLog } from '../src/tracking/AuditLog.ts';
import { auditEntry, type Exchange } from './auditTrail.ts';
import { listImages, showImage, type ReadReply } from './imageReads.ts';
import { glanceList, glanceShow } from './glanceReads.ts';
import { presentedCredential, principalOf } from './requestPrincipal.ts';
import type { AnyTokenAccount } from '../src/glance/AnyTokenAccount.ts';
import { mayCarrySession } from './webSession.ts';
import { requestAddress } from './clientAddress.ts';

const JSON_TYPE = 'application/json; charset=utf-8';
// Only lower-case ids are answered here: anything else goes to the Koa app, which refuses it.
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const showPath = routeMatcher(ROUTES.showImage, { id: UUID });
const glanceShowPath = routeMatcher(GLANCE_ROUTES.showImage, { id: UUID });

export interface HotReadOptions {
  service: ImageService;
  pages: ListPages;
  auth: Authenticator;
  audit: AuditLog;
  /** Sees each exchange, as the audit trail's does (the metrics). */
  observe?: (x: Exchange) => void;
  /** glance.any_token_account, when configured. */
  anyToken?: AnyTokenAccount;
}

/**
 * The hot read routes (GET and HEAD of /images, /images/detail and /images/<id>, and the Glance v2
 * edge's /v2/images and /v2/images/<id>) answered on
 * node:http itself: Koa's context, router and middleware chain cost more than the read (~40 µs of
 * ~90 µs a request here). The answers come from the same functions the Koa routes call, are
 * authenticated by the same seam and audited with the same entry. Only successful answers are sent
 * here: a request with anything to refuse (bad credentials, a malformed query, an unknown or hidden
 * image) goes to the Koa app, the one place where errors are answered.
 */
export function withHotReads(o: HotReadOptions, app: RequestListener): RequestListener {
  return (req, res) => {
    const { method, url = '' } = req;
    if (method !== 'GET' && method !== 'HEAD') return app(req, res);
    // A browser's session cookie is resolved by the app: answered here, its list would be anonymous's.
    if (mayCarrySession(req)) return app(req, res);
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    let route: string;
    let id: string | undefined;
    if (path === ROUTES.listImages.path || path === ROUTES.listImageDetails.path || path === GLANCE_ROUTES.listImages.path) route = path;
    else if ((id = showPath(path)?.['id']) !== undefined) route = ROUTES.showImage.path;
    else if ((id = glanceShowPath(path)?.['id']) !== undefined) route = GLANCE_ROUTES.showImage.path;
    else return app(req, res);
    const started = performance.now();
    const answer = (who: Principal | undefined): void => {
      let reply: ReadReply;
      try {
        // The Glance v2 edge's two reads too (daemon/glanceReads.ts): the same answers as its Koa routes.
        if (route === GLANCE_ROUTES.showImage.path) reply = glanceShow(o.service, id!, who);
        else if (route === GLANCE_ROUTES.listImages.path) reply = glanceList(o.service, q === -1 ? '' : url.slice(q + 1), who);
        else
          reply =
            id !== undefined
              ? showImage(o.service, id, who, req.headers['if-none-match'])
              : listImages(o.pages, path, q === -1 ? '' : url.slice(q + 1), who, route === ROUTES.listImageDetails.path);
      } catch {
        return app(req, res);
      }
      send(o, req, res, reply, { started, route, path, id, who });
    };
    // Anonymous (no credentials at all): answered now, without waiting a turn for a resolved promise.
    if (presentedCredential(req) === undefined) answer(undefined);
    else principalOf(req, o.auth, o.anyToken).then(answer, () => app(req, res));
  };
}

function send(o: HotReadOptions, req: IncomingMessage, res: ServerResponse, reply: ReadReply, r: { started: number; route: string; path: string; id: string | undefined; who: Principal | undefined }): void {
  const request = randomUUID();
  // Read now: once the connection is gone its socket, and so the address, is too.
  const ip = requestAddress(req);
  const length = reply.json === undefined ? undefined : typeof reply.json === 'string' ? Buffer.byteLength(reply.json) : reply.json.length;
  const headers = ['X-Request-Id', request];
  if (reply.etag !== undefined) headers.push('ETag', reply.etag);
  if (length !== undefined) headers.push('Content-Type', JSON_TYPE, 'Content-Length', String(length));
  res.once('close', () => {
    const exchange: Exchange = {
      request,
      started: r.started,
      ip,
      method: req.method!,
      url: req.url!,
      // The path as requested: a list's is its route, a show's id is a lower-case UUID (nothing to encode).
      path: r.path,
      route: r.route,
      id: r.id,
      principal: r.who,
      denial: undefined,
      authorization: req.headers.authorization ?? '',
      agent: req.headers['user-agent'] ?? '',
      status: reply.status,
      finished: res.writableFinished,
      length,
      location: '',
    };
    o.audit.append(auditEntry(exchange));
    o.observe?.(exchange);
  });
  res.writeHead(reply.status, headers);
  // HEAD: node:http sends the headers and drops the body.
  res.end(reply.json);
}

import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Middleware } from 'koa';
import { parseApiKey, redactKeys } from '../src/accounts/ApiKey.ts';
import type { Principal } from '../src/auth/Principal.ts';
import type { AuditEntry, AuditOutcome } from '../src/tracking/AuditEntry.ts';
import type { AuditLog } from '../src/tracking/AuditLog.ts';
import { auditAction } from './auditActions.ts';

/** Caller-chosen text is cut to this length before it enters the log. */
const MAX_TEXT = 512;

/**
 * Records every request in the audit log once its answer is over — sent whole or cut off — so refused
 * attempts and interrupted downloads are there too. Each answer carries the entry's id as X-Request-Id.
 * Must run before (outside) the middleware that authenticates and turns errors into answers.
 */
export function auditTrail(audit: AuditLog): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const request = randomUUID();
    ctx.state['requestId'] = request;
    ctx.set('X-Request-Id', request);
    // Read now: once the connection is gone its socket, and so the address, is too.
    const ip = ctx.request.ip;
    ctx.res.once('close', () => audit.append(entryOf(ctx, request, started, ip)));
    await next();
  };
}

function entryOf(ctx: Context, request: string, started: number, ip: string): AuditEntry {
  const principal = ctx.state['principal'] as Principal | undefined;
  const denial = ctx.state['denial'] as string | undefined;
  const status = ctx.status;
  const finished = ctx.res.writableFinished;
  const route = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  const image = imageOf(ctx);
  const key = principal?.keyId ?? presentedKeyId(ctx.get('authorization'));
  const agent = ctx.get('user-agent');
  let outcome: AuditOutcome = 'ok';
  if (!finished) outcome = 'aborted';
  else if (denial !== undefined || status === 401 || status === 403) outcome = 'denied';
  else if (status >= 500) outcome = 'failed';
  else if (status >= 400) outcome = 'rejected';
  return {
    at: new Date().toISOString(),
    request,
    user: principal?.name ?? null,
    ...(key !== undefined ? { key } : {}),
    action: auditAction(ctx.method, typeof route === 'string' ? route : undefined, ctx.path),
    method: ctx.method,
    path: redactKeys(ctx.originalUrl).slice(0, MAX_TEXT),
    ...(image !== undefined ? { image } : {}),
    status,
    outcome,
    ...(outcome === 'denied' ? { reason: (denial ?? 'credentials refused').slice(0, MAX_TEXT) } : {}),
    ip,
    ...(agent !== '' ? { agent: redactKeys(agent).slice(0, 200) } : {}),
    ...(finished && ctx.method === 'GET' && status < 300 && typeof ctx.length === 'number' ? { bytes: ctx.length } : {}),
    ms: Math.round((performance.now() - started) * 10) / 10,
  };
}

/** The image a request named, or created (its Location). */
function imageOf(ctx: Context): string | undefined {
  const id = (ctx.params as Record<string, string> | undefined)?.['id'];
  if (id !== undefined) return id.slice(0, 128);
  const created = /^\/images\/([0-9a-f-]{36})$/.exec(ctx.response.get('location'));
  return created?.[1];
}

/** The key id a refused Authorization header claimed, when it has the shape of one. */
function presentedKeyId(authorization: string): string | undefined {
  if (authorization === '' || authorization.length > 256) return undefined;
  const token = /^Bearer +(\S+)$/i.exec(authorization)?.[1];
  return token === undefined ? undefined : parseApiKey(token)?.id;
}

/**
 * Requests Node's HTTP parser refuses before any middleware runs (headers over its limit, malformed
 * request lines) are answered here and recorded too: an oversized credential is an attempt worth
 * seeing. Connections that merely drop are not requests and are not recorded.
 */
export function auditClientErrors(server: Server, audit: AuditLog): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (!error.code?.startsWith('HPE_')) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    audit.append({
      at: new Date().toISOString(),
      request: randomUUID(),
      user: null,
      action: 'http.malformed',
      method: '',
      path: '',
      status,
      outcome: 'rejected',
      reason: error.code,
      ip: (socket as Duplex & { remoteAddress?: string }).remoteAddress ?? '',
      ms: 0,
    });
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
}

import { randomUUID } from 'node:crypto';
import { requestAddress } from './clientAddress.ts';
import { presentedCredential } from './requestPrincipal.ts';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Middleware } from 'koa';
import { parseApiKey, redactKeys } from '../src/accounts/ApiKey.ts';
import type { Principal } from '../src/auth/Principal.ts';
import type { AuditEntry, AuditOutcome } from '../src/tracking/AuditEntry.ts';
import type { AuditLog } from '../src/tracking/AuditLog.ts';
import { actionOf } from '../src/api/routes.ts';
import { invalid, MethodNotAllowed, tooLarge, VisorError } from '../src/errors/VisorError.ts';
import { socketErrorAnswer } from './httpErrors.ts';
import { isGitPath } from './gitHttpBackend.ts';

/** Caller-chosen text is cut to this length before it enters the log. */
const MAX_TEXT = 512;

/**
 * Records every request in the audit log once its answer is over — sent whole or cut off — so refused
 * attempts and interrupted downloads are there too. Each answer carries the entry's id as X-Request-Id.
 * `observe` sees the same exchange (the metrics).
 * Must run before (outside) the middleware that authenticates and turns errors into answers.
 */
export function auditTrail(audit: AuditLog, observe?: (x: Exchange) => void): Middleware {
  return async (ctx, next) => {
    const started = performance.now();
    const request = randomUUID();
    ctx.state['requestId'] = request;
    ctx.set('X-Request-Id', request);
    // Read now: once the connection is gone its socket, and so the address, is too.
    const ip = requestAddress(ctx.req);
    ctx.res.once('close', () => {
      const exchange = exchangeOf(ctx, request, started, ip);
      audit.append(auditEntry(exchange));
      observe?.(exchange);
    });
    await next();
  };
}

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses requests that could change anything while the audit log cannot be written (a full disk):
 * no change goes unrecorded. Runs inside the middleware that turns errors into answers.
 */
export function refuseUnrecordedChanges(audit: AuditLog): Middleware {
  return async (ctx, next) => {
    // A git fetch's negotiation is a POST that reads: it changes nothing.
    if (!READS.has(ctx.method) && !isGitPath(ctx.path)) await audit.assertWritable();
    await next();
  };
}

/** What an audit entry is made of, whichever path answered the request. */
export interface Exchange {
  request: string;
  /** performance.now() when the request arrived. */
  started: number;
  ip: string;
  method: string;
  /** The request target as sent (path and query). */
  url: string;
  path: string;
  /** The route pattern that matched, e.g. /images/:id. */
  route: string | undefined;
  /** The image the route named (its :id parameter). */
  id: string | undefined;
  principal: Principal | undefined;
  denial: string | undefined;
  authorization: string;
  agent: string;
  status: number;
  /** Whether the answer was sent whole. */
  finished: boolean;
  /** The answer's Content-Length, when it had one. */
  length: number | undefined;
  /** The Location of an image created. */
  location: string;
}

function exchangeOf(ctx: Context, request: string, started: number, ip: string): Exchange {
  const route = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute;
  return {
    request,
    started,
    ip,
    method: ctx.method,
    url: ctx.originalUrl,
    path: ctx.path,
    route: typeof route === 'string' ? route : undefined,
    id: (ctx.params as Record<string, string> | undefined)?.['id'],
    principal: ctx.state['principal'] as Principal | undefined,
    denial: ctx.state['denial'] as string | undefined,
    authorization: presentedCredential(ctx.req) ?? '',
    agent: ctx.get('user-agent'),
    status: ctx.status,
    finished: ctx.res.writableFinished,
    length: typeof ctx.length === 'number' ? ctx.length : undefined,
    location: ctx.response.get('location'),
  };
}

/** The time of the last entry, as written: at thousands of requests a second, many share a millisecond. */
let lastStamp = { ms: Number.NaN, text: '' };

/** Now, as an entry's `at` (ISO 8601, milliseconds). */
function stampNow(): string {
  const ms = Date.now();
  if (ms !== lastStamp.ms) lastStamp = { ms, text: new Date(ms).toISOString() };
  return lastStamp.text;
}

export function auditEntry(x: Exchange): AuditEntry {
  const { principal, denial, status, finished, agent } = x;
  const image = x.id !== undefined ? x.id.slice(0, 128) : /^\/images\/([0-9a-f-]{36})$/.exec(x.location)?.[1];
  const key = principal?.keyId ?? presentedKeyId(x.authorization);
  let outcome: AuditOutcome = 'ok';
  if (!finished) outcome = 'aborted';
  else if (denial !== undefined || status === 401 || status === 403) outcome = 'denied';
  else if (status >= 500) outcome = 'failed';
  else if (status >= 400) outcome = 'rejected';
  return {
    at: stampNow(),
    request: x.request,
    user: principal?.name ?? null,
    ...(key !== undefined ? { key } : {}),
    action: actionOf(x.method, x.route, x.path),
    method: x.method,
    path: redactKeys(x.url).slice(0, MAX_TEXT),
    ...(image !== undefined ? { image } : {}),
    status,
    outcome,
    ...(outcome === 'denied' ? { reason: (denial ?? 'credentials refused').slice(0, MAX_TEXT) } : {}),
    ip: x.ip,
    ...(agent !== '' ? { agent: redactKeys(agent).slice(0, 200) } : {}),
    ...(finished && x.method === 'GET' && status < 300 && x.length !== undefined ? { bytes: x.length } : {}),
    ms: Math.round((performance.now() - x.started) * 10) / 10,
  };
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
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      // Headers not received in time (server.headers_timeout_seconds): said in the one shape, not recorded (a silent connection is no request).
      answerAndClose(socket, socketErrorAnswer(new VisorError('request_timeout', 'the request headers were not received in time')));
      return;
    }
    if (!error.code?.startsWith('HPE_')) {
      socket.destroy();
      return;
    }
    const { status, answer } = clientErrorAnswer(error.code);
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
    answerAndClose(socket, answer);
  });
  // A CONNECT (a proxy's method, no route of ours) would otherwise just lose its connection.
  server.on('connect', (req: IncomingMessage, socket: Duplex) => {
    const status = 405;
    audit.append({
      at: new Date().toISOString(),
      request: randomUUID(),
      user: null,
      action: 'http.malformed',
      method: 'CONNECT',
      path: redactKeys(req.url ?? '').slice(0, MAX_TEXT),
      status,
      outcome: 'rejected',
      reason: 'CONNECT',
      ip: req.socket.remoteAddress ?? '',
      ms: 0,
    });
    answerAndClose(socket, socketErrorAnswer(new MethodNotAllowed('CONNECT', req.url ?? '', [])));
  });
}

/** How long a refused connection may go on sending what nobody reads, after its answer. */
const LINGER_MS = 2000;

/**
 * Answers on a connection no HTTP server reads any more, then closes it. What the client still sends
 * is read and dropped (a socket left paused would never notice the client go, and stay open for good),
 * and the connection is destroyed after a short linger in any case.
 */
function answerAndClose(socket: Duplex, answer: string): void {
  socket.on('error', () => undefined);
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.on('data', () => undefined);
  socket.resume();
  socket.end(answer);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** The answer to a request node's parser refused: an unknown method is a 405 like any other, in the one shape. */
function clientErrorAnswer(code: string): { status: number; answer: string } {
  if (code === 'HPE_INVALID_METHOD') return { status: 405, answer: socketErrorAnswer(new MethodNotAllowed('this method', 'any path', [])) };
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, answer: socketErrorAnswer(tooLarge('request headers exceed the limit'), 431) };
  return { status: 400, answer: socketErrorAnswer(invalid(`malformed HTTP request (${code})`)) };
}

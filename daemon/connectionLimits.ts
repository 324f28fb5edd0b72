import type { IncomingMessage, RequestListener, Server, ServerOptions, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { ConnectionLimits } from '../src/config/VisorConfig.ts';
import { ROUTES, routeMatcher } from '../src/api/routes.ts';
import { invalidField, TooManyRequests, VisorError } from '../src/errors/VisorError.ts';
import { clientOf } from './clientAddress.ts';
import { closingErrorAnswer } from './httpErrors.ts';

const isUploadPath = routeMatcher(ROUTES.uploadFile);
/** How long a connection over its client's cap may wait to send the request its refusal answers. */
const REFUSED_GRACE_MS = 2000;
/**
 * The host's own address: local clients and a reverse proxy on this host, one address for all their
 * users. A per-address cap there would only refuse them; they count towards the total cap alone.
 */
const THIS_HOST = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
/** Idle keep-alive connections are closed after this (longer than common proxies' 60 s, so they close first). */
const KEEP_ALIVE_MS = 65_000;

/**
 * The daemon's connection policy: how long a client may take over a request, and how many connections
 * it may hold, so that slow or greedy clients cannot take the sockets everyone else needs.
 * - headers: node's own headersTimeout, checked every second (node's default check is every 30 s);
 * - bodies: no pause longer than the idle timeout, uploads included; a request other than an upload
 *   must be received whole within the request timeout (an upload of many GiB may take hours);
 * - connections: at most maxConnections in all (node closes the rest at once) and
 *   maxConnectionsPerClient from one client, whose further connections are answered 429 and closed
 *   (127.0.0.1 and ::1 excepted: see THIS_HOST).
 * Requests with no body are complete once their headers are, and cost nothing here.
 */
export class ConnectionPolicy {
  private readonly limits: ConnectionLimits;
  private readonly perClient = new Map<string, number>();
  private readonly refused = new WeakSet<Socket>();

  constructor(limits: ConnectionLimits) {
    this.limits = limits;
  }

  /** Options for node's createServer: set there because the check interval is fixed at construction. */
  get serverOptions(): ServerOptions & { handshakeTimeout: number } {
    return {
      // HTTPS: a TLS handshake gets the time headers get (node's default is 120 s); plain HTTP ignores it.
      handshakeTimeout: this.limits.headersTimeoutMs,
      headersTimeout: this.limits.headersTimeoutMs,
      // The whole-request bound is ours (below): node's would cut uploads too.
      requestTimeout: 0,
      keepAliveTimeout: KEEP_ALIVE_MS,
      connectionsCheckingInterval: Math.min(1000, this.limits.headersTimeoutMs),
      // Checked in guard() instead: node's own refusal is a bare 400 outside the error shape.
      requireHostHeader: false,
    };
  }

  /** Counts connections per client on the server, and caps them in all. */
  attach(server: Server): void {
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    if (this.limits.maxConnections > 0) server.maxConnections = this.limits.maxConnections;
    if (this.limits.maxConnectionsPerClient === 0) return;
    const tls = server instanceof TlsServer;
    server.on('connection', (socket: Socket) => {
      if (THIS_HOST.has(socket.remoteAddress ?? '')) return;
      const client = clientOf(socket.remoteAddress);
      const open = (this.perClient.get(client) ?? 0) + 1;
      this.perClient.set(client, open);
      socket.once('close', () => {
        const left = (this.perClient.get(client) ?? 1) - 1;
        if (left <= 0) this.perClient.delete(client);
        else this.perClient.set(client, left);
      });
      if (open > this.limits.maxConnectionsPerClient) {
        // Before a TLS handshake there is no way to answer: the connection is closed at once.
        if (tls) {
          socket.destroy();
          return;
        }
        // Answered on its first request (guard below), so the client learns why; closed if none comes soon.
        this.refused.add(socket);
        setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
      }
    });
  }

  /** The request listener behind the policy: refused connections get their 429, bodies their deadlines. */
  /** Sockets whose idle timeout a request body set (cleared again by a later request without one). */
  private readonly idleSet = new WeakSet<Socket>();

  guard(listener: RequestListener): RequestListener {
    return (req, res) => {
      if (this.refused.has(req.socket)) {
        answer(res, new TooManyRequests(`too many connections from your address (at most ${this.limits.maxConnectionsPerClient}); close some and retry`, 1));
        req.socket.destroySoon();
        return;
      }
      if (req.headers.host === undefined && req.httpVersionMinor >= 1) {
        answer(res, invalidField('Host', 'required', 'a Host header (HTTP/1.1)', 'an HTTP/1.1 request must name its Host'));
        return;
      }
      if (hasBody(req)) this.bound(req, res);
      else if (this.idleSet.has(req.socket)) {
        // A kept-alive socket keeps the idle timeout an earlier request's body set: a request without
        // a body is never the client's to time out, however long its answer takes (a sync, a copy).
        req.socket.setTimeout(0);
        this.idleSet.delete(req.socket);
      }
      listener(req, res);
    };
  }

  private bound(req: IncomingMessage, res: ServerResponse): void {
    const cut = (message: string) => {
      // Whatever still reads the body (an upload, the JSON reader) must fail now: once answered, the
      // request is detached from its socket and closing the socket alone would leave the reader
      // waiting forever (and an upload 'uploading'). Destroyed without an error: there may be no listener.
      if (res.headersSent) req.destroy();
      else {
        res.once('finish', () => req.destroy());
        answer(res, new VisorError('request_timeout', message));
      }
    };
    // node's socket timeout: emitted on the request while its body is incomplete.
    req.socket.setTimeout(this.limits.idleTimeoutMs);
    this.idleSet.add(req.socket);
    req.on('timeout', () => cut(`no byte of the request body for ${this.limits.idleTimeoutMs / 1000} s`));
    // Once the body is in, the server may work on the answer for as long as it takes (a copy between
    // stores): a pause then is not the client's.
    res.on('timeout', () => undefined);
    if (req.method === 'PUT' && isUploadPath(pathOf(req.url)) !== undefined) return;
    const deadline = setTimeout(() => {
      if (!req.complete) cut(`the request was not received whole within ${this.limits.requestTimeoutMs / 1000} s`);
    }, this.limits.requestTimeoutMs);
    deadline.unref();
    // On the request, not its socket: a kept-alive socket would gather a listener per request.
    req.once('close', () => clearTimeout(deadline));
    req.once('end', () => clearTimeout(deadline));
  }
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function pathOf(url: string | undefined): string {
  const u = url ?? '';
  const q = u.indexOf('?');
  return q === -1 ? u : u.slice(0, q);
}

/** An error answer in the one shape, closing the connection; nothing when an answer is already under way. */
function answer(res: ServerResponse, error: VisorError): void {
  if (res.headersSent) return;
  const { status, headers, text } = closingErrorAnswer(error);
  res.writeHead(status, headers);
  res.end(text);
}

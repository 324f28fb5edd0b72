import { STATUS_CODES } from 'node:http';
import type { ErrorBody } from '../src/api/wire.ts';
import type { ErrorKind } from '../src/errors/VisorError.ts';
import { MethodNotAllowed, RangeNotSatisfiable, TooManyRequests, VisorError } from '../src/errors/VisorError.ts';

/** The one place where the core's error kinds become HTTP statuses. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  unsupported_media_type: 415,
  request_timeout: 408,
  range_not_satisfiable: 416,
  too_many_requests: 429,
  internal: 500,
  upstream_failed: 502,
  unavailable: 503,
};

/** Errors of Koa's own middleware (the body parser) carry a status: the kind it stands for. */
const KIND_OF_STATUS: Record<number, ErrorKind> = { 400: 'invalid', 404: 'not_found', 413: 'too_large', 415: 'invalid', 401: 'unauthenticated', 403: 'forbidden' };

export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
  /** A failure of ours, not the client's: worth logging. */
  internal: boolean;
}

/** Status, headers and JSON body for anything thrown while handling a request: every error has this shape. */
export function errorResponse(error: unknown): ErrorResponse {
  if (error instanceof VisorError) {
    const body: ErrorBody = { error: { code: error.kind, message: error.message } };
    if (error.problems.length > 0) body.error.problems = error.problems;
    if (error.details !== undefined) body.error.details = error.details;
    const headers: Record<string, string> = {};
    if (error.kind === 'unauthenticated') headers['WWW-Authenticate'] = 'Bearer realm="visor"';
    if (error instanceof RangeNotSatisfiable) headers['Content-Range'] = `bytes */${error.size}`;
    if (error instanceof MethodNotAllowed) headers['Allow'] = error.allowed.join(', ');
    if (error instanceof TooManyRequests) headers['Retry-After'] = String(error.retryAfterSeconds);
    return { status: STATUS_OF_KIND[error.kind], headers, body, internal: error.kind === 'internal' };
  }
  const e = error as { status?: number; message?: string; type?: string; limit?: number };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = KIND_OF_STATUS[e.status] ?? 'invalid';
    const message = e.type === 'entity.too.large' ? `request body exceeds the limit of ${String(e.limit)} bytes` : `malformed JSON body: ${e.message ?? 'bad request'}`;
    const body: ErrorBody = { error: { code, message } };
    if (e.status === 400) body.error.problems = [{ field: '(body)', rule: 'json', expected: 'a JSON object', message }];
    return { status: STATUS_OF_KIND[code], headers: {}, body, internal: false };
  }
  return { status: 500, headers: {}, body: { error: { code: 'internal', message: 'internal error' } }, internal: true };
}

/**
 * The whole HTTP/1.1 answer, in the same shape, for a connection refused below the HTTP server (a
 * request line node's parser rejects, a CONNECT, a connection over its cap): the connection closes after it.
 */
export function socketErrorAnswer(error: unknown, status?: number): string {
  const answer = closingErrorAnswer(error);
  const code = status ?? answer.status;
  return `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\n${Object.entries(answer.headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${answer.text}`;
}

/** An error's answer, whole, on a connection that closes after it: outside Koa (a raw socket, the connection policy). */
export function closingErrorAnswer(error: unknown): { status: number; headers: Record<string, string>; text: string } {
  const { status, headers, body } = errorResponse(error);
  const text = JSON.stringify(body);
  return { status, headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)), Connection: 'close' }, text };
}

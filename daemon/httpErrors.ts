import type { ErrorKind, FieldProblem } from '../src/errors/VisorError.ts';
import { VisorError } from '../src/errors/VisorError.ts';

/** The one place where the core's error kinds become HTTP statuses. */
export const STATUS_OF_KIND: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  range_not_satisfiable: 416,
  unavailable: 503,
  internal: 500,
};

const KIND_OF_STATUS: Record<number, ErrorKind> = { 400: 'invalid', 404: 'not_found', 413: 'too_large', 415: 'invalid', 401: 'unauthenticated', 403: 'forbidden' };

export interface ErrorBody {
  error: { code: ErrorKind; message: string; problems?: FieldProblem[] };
}

/** Status and body for anything thrown while handling a request. */
export function errorResponse(error: unknown): { status: number; body: ErrorBody; internal: boolean } {
  if (error instanceof VisorError) {
    const body: ErrorBody = { error: { code: error.kind, message: error.message } };
    if (error.problems.length > 0) body.error.problems = error.problems;
    return { status: STATUS_OF_KIND[error.kind], body, internal: error.kind === 'internal' };
  }
  // Errors raised by Koa's own middleware (body parser: malformed JSON, body over the limit).
  const e = error as { status?: number; message?: string; type?: string };
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    const code = KIND_OF_STATUS[e.status] ?? 'invalid';
    const message = e.type === 'entity.too.large' ? `request body exceeds the limit of ${String((e as { limit?: number }).limit)} bytes` : `malformed JSON body: ${e.message ?? 'bad request'}`;
    const body: ErrorBody = { error: { code, message } };
    if (e.status === 400) body.error.problems = [{ field: '(body)', rule: 'json', expected: 'a JSON object', message }];
    return { status: e.status, body, internal: false };
  }
  return { status: 500, body: { error: { code: 'internal', message: 'internal error' } }, internal: true };
}

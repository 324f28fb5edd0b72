import { RequestError } from 'got';
import type { FieldProblem } from '../errors/VisorError.ts';

export type { FieldProblem };

/** The error body every daemon error carries (see the REST contract). */
interface ErrorBody {
  error?: { code?: unknown; message?: unknown; problems?: unknown };
}

export interface VisorClientErrorDetails {
  /** HTTP status of the daemon's answer; undefined when the failure happened on the client side. */
  status?: number;
  /** The daemon's error code ('not_found', 'invalid', ...) or a client-side one ('transport', 'digest_mismatch', ...). */
  code: string;
  problems?: FieldProblem[];
  cause?: unknown;
}

/** A failed call to the VISOR daemon: its status, error code and, for invalid input, one problem per field. */
export class VisorClientError extends Error {
  readonly status: number | undefined;
  readonly code: string;
  readonly problems: FieldProblem[];

  constructor(message: string, details: VisorClientErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'VisorClientError';
    this.status = details.status;
    this.code = details.code;
    this.problems = details.problems ?? [];
  }

  /** Builds the error from a non-2xx answer, tolerating bodies that are not the contract's JSON (e.g. a proxy's page). */
  static fromResponse(status: number, bodyText: string, statusMessage = ''): VisorClientError {
    const parsed = parseErrorBody(bodyText);
    const code = typeof parsed?.code === 'string' ? parsed.code : codeForStatus(status);
    const message =
      typeof parsed?.message === 'string' && parsed.message !== ''
        ? parsed.message
        : `HTTP ${status}${statusMessage === '' ? '' : ` ${statusMessage}`}`;
    return new VisorClientError(message, { status, code, problems: problemsOf(parsed?.problems) });
  }

  /** Wraps a transport failure (refused connection, timeout, reset) so callers see one error type. */
  static fromTransportFailure(error: unknown, url: string): unknown {
    if (error instanceof VisorClientError || !isTransportFailure(error)) return error;
    return new VisorClientError(`request to ${url} failed: ${error.message}`, {
      code: 'transport',
      cause: error,
    });
  }
}

/** The downloaded bytes do not have the digest the catalogue records for the image. */
export class ChecksumMismatchError extends VisorClientError {
  readonly expected: string;
  readonly actual: string;

  constructor(imageId: string, expected: string, actual: string) {
    super(`digest mismatch for image ${imageId}: expected ${expected}, got ${actual}`, { code: 'digest_mismatch' });
    this.name = 'ChecksumMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * got wraps transport failures in RequestError, except that got < 16 on Node >= 24.20 lets a refused
 * connection escape as Node's own ERR_SOCKET_CLOSED_BEFORE_CONNECTION (got issue #2469).
 */
const NODE_CONNECTION_ERRORS = new Set([
  'ERR_SOCKET_CLOSED_BEFORE_CONNECTION',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function isTransportFailure(error: unknown): error is Error {
  if (error instanceof RequestError) return true;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return error instanceof Error && typeof code === 'string' && NODE_CONNECTION_ERRORS.has(code);
}

function parseErrorBody(text: string): NonNullable<ErrorBody['error']> | undefined {
  try {
    const body = JSON.parse(text) as ErrorBody | null;
    return typeof body?.error === 'object' && body.error !== null ? body.error : undefined;
  } catch {
    return undefined;
  }
}

function problemsOf(value: unknown): FieldProblem[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((p): p is Record<string, unknown> => typeof p === 'object' && p !== null)
    .map((p) => ({
      field: String(p['field'] ?? ''),
      rule: String(p['rule'] ?? ''),
      expected: String(p['expected'] ?? ''),
      message: String(p['message'] ?? ''),
    }));
}

const CODES_BY_STATUS: Record<number, string> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  412: 'precondition_failed',
  413: 'too_large',
  415: 'invalid',
  416: 'range_not_satisfiable',
  503: 'unavailable',
};

function codeForStatus(status: number): string {
  return CODES_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'http_error');
}

/** One problem with one field of a request: which field, which rule, what was expected. */
export interface FieldProblem {
  field: string;
  rule: string;
  expected: string;
  message: string;
}

/**
 * The kinds of failure the core reports. Each edge (HTTP, CLI, hooks) maps a kind to its own
 * vocabulary in one place; the core never talks in HTTP statuses.
 */
export type ErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'too_large'
  | 'unsupported_media_type'
  | 'method_not_allowed'
  | 'range_not_satisfiable'
  | 'request_timeout'
  | 'too_many_requests'
  | 'upstream_failed'
  | 'unavailable'
  | 'internal';

export class VisorError extends Error {
  readonly kind: ErrorKind;
  readonly problems: FieldProblem[];
  /**
   * Set when the error refuses access (401, 403, or a 404 hiding an image the caller may not see):
   * why, for the audit log only. Clients never see it, so a hidden image stays indistinguishable.
   */
  denial: string | undefined;

  /** Machine-readable facts beyond the message (a sync's results, say), sent to the client as they are. */
  readonly details: unknown;

  constructor(kind: ErrorKind, message: string, problems: FieldProblem[] = [], options?: ErrorOptions & { details?: unknown }) {
    super(message, options);
    this.name = 'VisorError';
    this.kind = kind;
    this.problems = problems;
    this.details = options?.details;
    this.denial = kind === 'unauthenticated' || kind === 'forbidden' ? message : undefined;
  }
}

/** A byte range outside the file: the answer says how long the file is. */
export class RangeNotSatisfiable extends VisorError {
  readonly size: number;
  constructor(size: number) {
    super('range_not_satisfiable', `requested range is outside the file of ${size} bytes`);
    this.size = size;
  }
}

/** A method the path does not take: the answer lists those it does. */
export class MethodNotAllowed extends VisorError {
  readonly allowed: string[];
  constructor(method: string, path: string, allowed: string[]) {
    super('method_not_allowed', `${method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`);
    this.allowed = allowed;
  }
}

/** The caller (a client address, or a key) asked for more than its share: the answer says when to come back. */
export class TooManyRequests extends VisorError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('too_many_requests', message);
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** Marks an error as an access refusal with the reason the audit log records. */
export function denied(error: VisorError, reason: string): VisorError {
  error.denial = reason;
  return error;
}

export const invalid = (message: string, problems: FieldProblem[] = []): VisorError =>
  new VisorError('invalid', message, problems);

/** A single bad field, the commonest invalid input. */
export const invalidField = (field: string, rule: string, expected: string, message?: string): VisorError => {
  const text = message ?? `${field}: ${expected}`;
  return new VisorError('invalid', text, [{ field, rule, expected, message: text }]);
};

export const notFound = (what: string): VisorError => new VisorError('not_found', `${what} not found`);
export const conflict = (message: string): VisorError => new VisorError('conflict', message);
export const unauthenticated = (message = 'a valid bearer token is required'): VisorError =>
  new VisorError('unauthenticated', message);
export const forbidden = (message: string): VisorError => new VisorError('forbidden', message);
export const tooLarge = (message: string): VisorError => new VisorError('too_large', message);
export const preconditionFailed = (message: string): VisorError => new VisorError('precondition_failed', message);
export const unavailable = (message: string, cause?: unknown): VisorError =>
  new VisorError('unavailable', message, [], { cause });

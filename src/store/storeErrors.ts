import { VisorError } from '../errors/VisorError.ts';

/**
 * Errors of store operations. Messages name the store and the operation, and are built from the
 * store's answer (status, error code) only: never from request options, which carry credentials.
 */
export function storeFailure(store: { name: string; type: string }, operation: string, detail: string, cause?: unknown): VisorError {
  return new StoreFailure(store, `store ${store.name} (${store.type}): ${operation} failed: ${detail}`, cause);
}

/**
 * Any failure of a store operation as the core gets it: VisorErrors and cancellations (the caller's
 * own doing) as they are; anything else (a socket's reset, a library's error) typed, named by its
 * code only, never its message, which may quote a URL with a token or an internal host in it.
 */
export function storeFailureOf(store: { name: string; type: string }, operation: string, e: unknown): Error {
  if (e instanceof VisorError || (e instanceof Error && e.name === 'AbortError')) return e;
  return storeFailure(store, operation, failureDetail(e), e);
}

/** What may be said of a raw error: its code (and system call), never its message. */
function failureDetail(e: unknown): string {
  const err = e as Partial<NodeJS.ErrnoException> | undefined;
  if (typeof err?.code === 'string') return err.syscall ? `${err.code} (${err.syscall})` : err.code;
  return err?.name && err.name !== 'Error' ? `unexpected ${err.name}` : 'unexpected error';
}

/**
 * A store's own failure (its answer, its connection), told apart from the core's refusals: its text
 * names operations, object paths and codes, for the daemon's log and the caller, never for a record.
 * The raw error, when there is one, is its cause: the daemon's log shows it (the endpoint, the
 * address), no answer does.
 */
export class StoreFailure extends VisorError {
  readonly store: string;
  constructor(store: { name: string }, message: string, cause?: unknown) {
    super('unavailable', message, [], cause === undefined ? undefined : { cause });
    this.store = store.name;
  }
}

export function objectNotFound(store: { name: string }, key: string): VisorError {
  return new VisorError('not_found', `object ${key} in store ${store.name} not found`);
}

export function readOnlyStore(store: { name: string; type: string }): VisorError {
  return new VisorError('conflict', `store ${store.name} (${store.type}) is read-only: images can be registered from it, not written to it`);
}

export function unsafeKey(store: { name: string }, key: string, expected: string): VisorError {
  return new VisorError('invalid', `key ${JSON.stringify(key)} is not valid in store ${store.name}: ${expected}`, [
    { field: 'key', rule: 'pattern', expected, message: `key: ${expected}` },
  ]);
}

/** The error a cancelled write or read ends with (the same shape Node's streams use). */
export function abortError(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  if (reason instanceof Error) return reason;
  return new DOMException('The operation was aborted', 'AbortError');
}

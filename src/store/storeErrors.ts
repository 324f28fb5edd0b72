import { VisorError } from '../errors/VisorError.ts';

/**
 * Errors of store operations. Messages name the store and the operation, and are built from the
 * store's answer (status, error code) only: never from request options, which carry credentials.
 */
export function storeFailure(store: { name: string; type: string }, operation: string, detail: string): VisorError {
  return new VisorError('unavailable', `store ${store.name} (${store.type}): ${operation} failed: ${detail}`);
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

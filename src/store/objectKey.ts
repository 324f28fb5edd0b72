import { unsafeKey } from './storeErrors.ts';

const OBJECT_KEY = /^[A-Za-z0-9_][A-Za-z0-9._~/-]{0,1023}$/;
const EXPECTED = 'letters, digits and . _ ~ - /, relative, with no empty, "." or ".." segment';

/**
 * Object keys as the remote stores take them: relative paths without dot segments, so a key can
 * never reach outside the store's bucket, container, folder or base URL.
 */
export function assertObjectKey(store: { name: string }, key: string): string {
  if (!OBJECT_KEY.test(key) || key.split('/').some((s) => s === '' || s === '.' || s === '..')) throw unsafeKey(store, key, EXPECTED);
  return key;
}

/** Percent-encodes each segment of a key for a URL path, keeping the slashes. */
export function encodeKeyPath(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

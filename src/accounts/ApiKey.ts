import { randomBytes } from 'node:crypto';

/**
 * An API key as users hold it: `visor_<key id>_<secret>`, one string to paste into VISOR_TOKEN or an
 * `Authorization: Bearer` header. The key id (16 hex digits) is not secret: it names the key in the
 * account store, in `visor user show` and in the audit log, so the server finds the one stored hash
 * to check without trying them all. The secret is 256 random bits.
 */
export interface ApiKey {
  id: string;
  token: string;
}

const TOKEN = /^visor_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
/** Admin tokens made before user accounts existed carry no key id; their account key has this id. */
export const LEGACY_KEY_ID = 'legacy';
const LEGACY_TOKEN = /^visor_[A-Za-z0-9_-]{43}$/;
export const KEY_ID = /^([0-9a-f]{16}|legacy)$/;

export function generateApiKey(): ApiKey {
  const id = randomBytes(8).toString('hex');
  return { id, token: `visor_${id}_${randomBytes(32).toString('base64url')}` };
}

/** The key a presented token claims to be, or undefined when it has no valid shape. */
export function parseApiKey(token: string): ApiKey | undefined {
  const m = TOKEN.exec(token);
  if (m) return { id: m[1]!, token };
  if (LEGACY_TOKEN.test(token)) return { id: LEGACY_KEY_ID, token };
  return undefined;
}

const ANY_KEY = /visor_(?:([0-9a-f]{16})_[A-Za-z0-9_-]{43}|[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])/g;

/**
 * Text with every API key's secret replaced, for logs: a key pasted into a URL by mistake must not be
 * preserved in the audit log or the request log.
 */
export function redactKeys(text: string): string {
  return text.includes('visor_') ? text.replace(ANY_KEY, (_, id: string | undefined) => `visor_${id ?? LEGACY_KEY_ID}_[redacted]`) : text;
}

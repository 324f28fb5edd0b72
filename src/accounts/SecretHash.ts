import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Salted slow hashes of API keys (scrypt from node:crypto, no native dependency). The parameters are
 * stored with each hash, so changing them later leaves existing keys valid. N = 2^15, r = 8 costs about
 * 100 ms and 32 MiB per hash on this project's machines: a stolen account file yields nothing usable,
 * and the daemon pays this cost once per key, not per request (see ApiKeyAuthenticator).
 */
export const DEFAULT_HASH_COST = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;
const ENCODED = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{22})\$([A-Za-z0-9_-]{43})$/;

function derive(secret: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const maxmem = 256 * 2 ** logN * r;
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, { N: 2 ** logN, r, p, maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>`, base64url; `cost` is log2 of scrypt's N. */
export async function hashSecret(secret: string, cost = DEFAULT_HASH_COST): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(secret, salt, cost, R, P);
  return `scrypt$${cost}$${R}$${P}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export function isSecretHash(encoded: string): boolean {
  return ENCODED.test(encoded);
}

/** Whether the secret matches; the comparison takes the same time wherever the first difference is. */
export async function verifySecret(secret: string, encoded: string): Promise<boolean> {
  const m = ENCODED.exec(encoded);
  if (!m) return false;
  const [logN, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (logN < 10 || logN > 20 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const actual = await derive(secret, Buffer.from(m[4]!, 'base64url'), logN, r, p);
  return timingSafeEqual(actual, expected);
}

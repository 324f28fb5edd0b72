import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import { readFile, writeFile, chmod } from 'node:fs/promises';
import type { Authenticator } from './Authenticator.ts';
import type { Principal } from './Principal.ts';
import { unauthenticated } from '../errors/VisorError.ts';

const ADMIN: Principal = { name: 'admin', admin: true };
const MAX_HEADER = 1024;

/** Bearer-token authentication against the single admin token of a fresh installation. */
export class AdminTokenAuthenticator implements Authenticator {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  authenticate(authorization: string | undefined): Principal | undefined {
    if (authorization === undefined || authorization === '') return undefined;
    if (authorization.length > MAX_HEADER) throw unauthenticated('Authorization header too long');
    const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization);
    if (!m?.[1]) throw unauthenticated('Authorization must be "Bearer <token>"');
    // Compare digests of equal length in constant time: timing reveals nothing about the token.
    if (!timingSafeEqual(sha256(m[1]), this.digest)) throw unauthenticated('invalid token');
    return ADMIN;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * Reads the admin token, creating it (owner-only permissions) on first start. `created` tells the
 * caller to print it once.
 */
export async function loadOrCreateAdminToken(file: string): Promise<{ token: string; created: boolean }> {
  try {
    return { token: (await readFile(file, 'utf8')).trim(), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = `visor_${randomBytes(32).toString('base64url')}`;
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  await chmod(file, 0o600);
  return { token, created: true };
}

import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccountStore } from './AccountStore.ts';
import { parseApiKey } from './ApiKey.ts';
import { verifySecret } from './SecretHash.ts';
import { unauthenticated } from '../errors/VisorError.ts';
import type { Authenticator } from '../auth/Authenticator.ts';
import { ConcurrencyLimit } from '../auth/ConcurrencyLimit.ts';
import type { Principal } from '../auth/Principal.ts';

/** Longer headers are refused before any work: no key is that long. */
const MAX_HEADER = 256;
const BEARER = /^Bearer +([\x21-\x7e]+)$/i;

interface Verified {
  /** The stored hash the token was checked against: a rotated or removed key no longer matches it. */
  hash: string;
  /** sha256 of the token that passed. */
  digest: Buffer;
}

/**
 * Bearer API keys (`Authorization: Bearer visor_<key id>_<secret>`) checked against the account store.
 * The stored hash is slow by design (scrypt, ~100 ms), so a key is checked with it once; afterwards the
 * sha256 of the token that passed is remembered per key id and compared in constant time, which costs
 * microseconds. Only one token can match a stored hash, so once it is known any other token for that
 * key id is refused without hashing. The account is looked up on every request: disabling a user or
 * rotating a key takes effect on the next request.
 */
export class ApiKeyAuthenticator implements Authenticator {
  private readonly accounts: AccountStore;
  private readonly verified = new Map<string, Verified>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly slowHashes: ConcurrencyLimit;
  /** Keys checked with the slow hash, and with the remembered digest: what the cache saves. */
  readonly checks = { slow: 0, fast: 0 };

  constructor(accounts: AccountStore, options: { concurrentHashes?: number; queuedHashes?: number } = {}) {
    this.accounts = accounts;
    this.slowHashes = new ConcurrencyLimit(options.concurrentHashes ?? 2, options.queuedHashes ?? 64);
  }

  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    if (authorization === undefined || authorization === '') return undefined;
    if (authorization.length > MAX_HEADER) throw unauthenticated(`Authorization header longer than ${MAX_HEADER} characters`);
    const m = BEARER.exec(authorization);
    if (!m) throw unauthenticated('Authorization must be "Bearer <API key>"');
    const key = parseApiKey(m[1]!);
    if (!key) throw unauthenticated('malformed API key: expected visor_<key id>_<secret>');
    const holder = this.accounts.userOfKey(key.id);
    if (!holder) throw unauthenticated('unknown or revoked API key');
    const { name, user } = holder;
    if (!(await this.check(key.id, key.token, user.key.hash))) throw unauthenticated('invalid API key');
    // Only someone holding the key learns that its account is disabled.
    if (user.disabled) throw unauthenticated(`account ${name} is disabled`);
    return { name, admin: user.role === 'admin', groups: this.accounts.groupsOf(name), keyId: key.id };
  }

  private async check(keyId: string, token: string, hash: string): Promise<boolean> {
    const digest = createHash('sha256').update(token).digest();
    const known = this.verified.get(keyId);
    if (known?.hash === hash) {
      this.checks.fast++;
      return timingSafeEqual(known.digest, digest);
    }
    // Concurrent first requests with one key share a single slow hash.
    const flightKey = `${hash}\n${digest.toString('hex')}`;
    let pending = this.inFlight.get(flightKey);
    if (!pending) {
      pending = this.slowHashes
        .run(() => {
          this.checks.slow++;
          return verifySecret(token, hash);
        })
        .finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, pending);
    }
    const ok = await pending;
    if (ok) this.verified.set(keyId, { hash, digest });
    return ok;
  }
}

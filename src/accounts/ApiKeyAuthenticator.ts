import { createHash, timingSafeEqual } from 'node:crypto';
import type { AccountStore } from './AccountStore.ts';
import { parseApiKey } from './ApiKey.ts';
import { verifySecret } from './SecretHash.ts';
import { TooManyRequests, unauthenticated } from '../errors/VisorError.ts';
import type { Authenticator } from '../auth/Authenticator.ts';
import { ConcurrencyLimit } from '../auth/ConcurrencyLimit.ts';
import { FailureBudget } from '../auth/FailureBudget.ts';
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
 *
 * Key ids are not secret, so until a key's right token has been seen since start anyone can make the
 * daemon hash guesses for it. That work is bounded three ways, none of which can lock the key's owner out:
 * - per client address: a budget of failed slow checks (10 at once, then one per 6 s), spent only
 *   by failures; past it, 429 with Retry-After for the keys the client has failed on. Another address
 *   has its own budget, and users sharing the guesser's address (a NAT, a proxy) are still checked
 *   once each: only the guessed key waits (FailureBudget);
 * - per key id: one slow check at a time, the waiting ones served round-robin by client, so the
 *   owner's check waits behind at most one check per client guessing at the same key;
 * - in all: two slow checks at once (the thread pool is shared with file I/O), round-robin by client.
 * Once the right token has passed, checks of that key cost a digest comparison and none of this applies.
 */
export class ApiKeyAuthenticator implements Authenticator {
  private readonly accounts: AccountStore;
  private readonly verified = new Map<string, Verified>();
  private readonly inFlight = new Map<string, Promise<boolean>>();
  private readonly slowHashes: ConcurrencyLimit;
  /** One slow check at a time per key id, dropped when idle. */
  private readonly perKey = new Map<string, ConcurrencyLimit>();
  private readonly failures: FailureBudget;
  /** Keys checked with the slow hash, and with the remembered digest: what the cache saves. */
  readonly checks = { slow: 0, fast: 0 };

  constructor(accounts: AccountStore, options: { concurrentHashes?: number; queuedHashes?: number; failuresPerClient?: number; failureRefillMs?: number } = {}) {
    this.accounts = accounts;
    const queued = options.queuedHashes ?? 64;
    this.slowHashes = new ConcurrencyLimit({ limit: options.concurrentHashes ?? 2, maxQueued: queued, maxQueuedPerClient: Math.max(1, Math.min(4, queued)) });
    this.failures = new FailureBudget(options.failuresPerClient ?? 10, options.failureRefillMs ?? 6000);
  }

  /** `client` names the caller's address (its IPv6 /64): budgets and queues are kept per client. */
  keyChecks(): { running: number; queued: number } {
    return this.slowHashes.load;
  }

  async authenticate(authorization: string | undefined, client = ''): Promise<Principal | undefined> {
    if (authorization === undefined || authorization === '') return undefined;
    if (authorization.length > MAX_HEADER) throw unauthenticated(`Authorization header longer than ${MAX_HEADER} characters`);
    const m = BEARER.exec(authorization);
    if (!m) throw unauthenticated('Authorization must be "Bearer <API key>"');
    const key = parseApiKey(m[1]!);
    if (!key) throw unauthenticated('malformed API key: expected visor_<key id>_<secret>');
    const holder = this.accounts.userOfKey(key.id);
    if (!holder) throw unauthenticated('unknown or revoked API key');
    const { name, user } = holder;
    if (!(await this.check(key.id, key.token, user.key.hash, client))) throw unauthenticated('invalid API key');
    // Only someone holding the key learns that its account is disabled.
    if (user.disabled) throw unauthenticated(`account ${name} is disabled`);
    return { name, admin: user.role === 'admin', ...(user.role === 'sync' ? { syncOnly: true } : {}), groups: this.accounts.groupsOf(name), keyId: key.id };
  }

  private async check(keyId: string, token: string, hash: string, client: string): Promise<boolean> {
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
      pending = this.slowCheck(keyId, token, hash, client).finally(() => this.inFlight.delete(flightKey));
      this.inFlight.set(flightKey, pending);
    }
    const ok = await pending;
    if (ok) this.verified.set(keyId, { hash, digest });
    return ok;
  }

  private async slowCheck(keyId: string, token: string, hash: string, client: string): Promise<boolean> {
    const admission = this.failures.admit(client, keyId);
    if (!admission.admitted) throw new TooManyRequests('too many failed API key checks from your address; retry later', admission.waitMs / 1000);
    let ok = false;
    let hashed = false;
    try {
      ok = await this.keyLimit(keyId).run(
        () =>
          this.slowHashes.run(() => {
            this.checks.slow++;
            hashed = true;
            return verifySecret(token, hash);
          }, client),
        client,
      );
      return ok;
    } finally {
      // Only a failed check spends the budget: a right key, or a check never made, gives it back.
      this.failures.settle(client, keyId, admission, hashed && !ok);
      const limit = this.perKey.get(keyId);
      if (limit?.idle === true) this.perKey.delete(keyId);
    }
  }

  private keyLimit(keyId: string): ConcurrencyLimit {
    let limit = this.perKey.get(keyId);
    if (!limit) {
      limit = new ConcurrencyLimit({
        limit: 1,
        maxQueued: 16,
        maxQueuedPerClient: 2,
        refuse: () => new TooManyRequests(`too many checks of API key ${keyId} are waiting; retry shortly`, 1),
      });
      this.perKey.set(keyId, limit);
    }
    return limit;
  }
}

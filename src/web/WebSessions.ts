import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Authenticator } from '../auth/Authenticator.ts';
import type { Principal } from '../auth/Principal.ts';
import { VisorError } from '../errors/VisorError.ts';

/** A signed-in browser: the key stays on the server; the page sees only the CSRF token. */
export interface WebSession {
  /** What every form and script write of this session must carry back (src/web/WebSessions.ts). */
  readonly csrf: string;
  readonly principal: Principal;
}

interface Held {
  /** The API key the browser signed in with: each request is authenticated with it again. */
  key: string;
  /** The account it signed in as: its sessions are capped apart from everyone else's. */
  account: string;
  csrf: string;
  lastUsed: number;
}

export interface WebSessionOptions {
  /** A session unused this long is ended. */
  idleMs?: number;
  /** At most this many sessions are held; the least recently used goes first. */
  maxSessions?: number;
  /** At most this many of one account's: its own least recently used goes first. */
  maxPerAccount?: number;
  now?: () => number;
}

const DEFAULT_IDLE_MS = 8 * 3600_000;
const DEFAULT_MAX_SESSIONS = 10_000;
/**
 * Per account, so that one account signing in over and over pushes out only its own older sessions,
 * never other people's (with the global cap alone, any key holder could sign everyone else out).
 */
const DEFAULT_MAX_PER_ACCOUNT = 20;

/** Same-length comparison in constant time: a token is never compared byte by byte. */
export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The web catalogue's sign-ins, held in memory (a restart signs everyone out). A session is a random
 * id in an HttpOnly cookie; the server keeps the API key it was opened with and authenticates every
 * request with it through the one Authenticator, so a revoked or rotated key, a disabled account or
 * a changed group ends what the session may do at once, exactly as for the key itself. Sessions are
 * found by a digest of their id, so the map holds nothing a browser could send.
 */
export class WebSessions {
  private readonly held = new Map<string, Held>();
  private readonly idleMs: number;
  private readonly maxSessions: number;
  private readonly maxPerAccount: number;
  private readonly now: () => number;
  private readonly auth: Authenticator;

  constructor(auth: Authenticator, options: WebSessionOptions = {}) {
    this.auth = auth;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    this.maxPerAccount = options.maxPerAccount ?? DEFAULT_MAX_PER_ACCOUNT;
    this.now = options.now ?? Date.now;
  }

  /** Signs in with an API key: rejects (unauthenticated) exactly as a request with the key would. */
  async open(key: string, client: string): Promise<WebSession & { id: string }> {
    const principal = await this.auth.authenticate(`Bearer ${key}`, client);
    if (principal === undefined) throw new Error('an API key authenticated no one');
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    // The map is in order of use: the first of the account's entries is its least recently used.
    const own = [...this.held].filter(([, h]) => h.account === principal.name);
    if (own.length >= this.maxPerAccount) this.held.delete(own[0]![0]);
    else if (this.held.size >= this.maxSessions) this.held.delete(this.held.keys().next().value!);
    this.held.set(digest(id), { key, account: principal.name, csrf, lastUsed: this.now() });
    return { id, csrf, principal };
  }

  /** The session of a cookie's id, authenticated again; undefined (and forgotten) when it has ended. */
  async find(id: string | undefined, client: string): Promise<WebSession | undefined> {
    if (!id) return undefined;
    const d = digest(id);
    const s = this.held.get(d);
    if (!s) return undefined;
    const now = this.now();
    if (now - s.lastUsed > this.idleMs) {
      this.held.delete(d);
      return undefined;
    }
    let principal: Principal | undefined;
    try {
      principal = await this.auth.authenticate(`Bearer ${s.key}`, client);
    } catch (error) {
      // The key was revoked or rotated, or the account disabled: the session ends with it. Anything
      // else (too many key checks at once: 429) is not the session's end, and is answered as such.
      if (!(error instanceof VisorError) || error.kind !== 'unauthenticated') throw error;
      this.held.delete(d);
      return undefined;
    }
    if (!principal) return undefined;
    // Kept in order of use, so the oldest entry is the one to drop when full.
    this.held.delete(d);
    s.lastUsed = now;
    this.held.set(d, s);
    return { csrf: s.csrf, principal };
  }

  /** Sign out: the id is worthless from now on, whatever the browser keeps. */
  close(id: string | undefined): void {
    if (id) this.held.delete(digest(id));
  }

  get size(): number {
    return this.held.size;
  }
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

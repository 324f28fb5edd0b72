import type { VisorError } from '../../errors/VisorError.ts';
import { HttpExchange, answerText, type HttpAnswer, type HttpOpened } from '../remote/HttpExchange.ts';
import { encodeKeyPath } from '../objectKey.ts';
import { storeFailure } from '../storeErrors.ts';
import type { RetryPolicy } from '../remote/transientRetry.ts';
import type { SwiftAuth, SwiftSession } from './SwiftAuth.ts';

/** Tokens are renewed this long before they expire, so a long segment upload does not outlive its token. */
const RENEW_BEFORE_MS = 5 * 60_000;

export interface SwiftRequest {
  operation: string;
  query?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Authenticated requests to one Swift account: keeps a token, renews it before it expires and once
 * more when Swift answers 401 (a revoked or expired token), for requests that can be sent again.
 */
export class SwiftConnection {
  readonly store: { name: string; type: string };
  readonly http: HttpExchange;
  private readonly auth: SwiftAuth;
  private session: Promise<SwiftSession> | undefined;

  constructor(options: { store: { name: string; type: string }; auth: SwiftAuth; timeoutMs: number; retry: RetryPolicy }) {
    this.store = options.store;
    this.auth = options.auth;
    this.http = new HttpExchange({ store: options.store, timeoutMs: options.timeoutMs, retry: options.retry });
  }

  private async current(renew = false): Promise<SwiftSession> {
    if (this.session && !renew) {
      const s = await this.session.catch(() => undefined);
      if (s && (s.expiresAt === undefined || s.expiresAt - Date.now() > RENEW_BEFORE_MS)) return s;
    }
    const pending = this.auth.authenticate(this.http, this.store);
    this.session = pending;
    // A failed authentication is not cached: the next request tries again.
    pending.catch(() => {
      if (this.session === pending) this.session = undefined;
    });
    return pending;
  }

  url(session: SwiftSession, container: string, object?: string, query?: string): string {
    return `${session.storageUrl}/${encodeURIComponent(container)}${object !== undefined ? `/${encodeKeyPath(object)}` : ''}${query ? `?${query}` : ''}`;
  }

  async call(method: string, container: string, object: string | undefined, r: SwiftRequest & { body?: Buffer | string }): Promise<HttpAnswer> {
    let session = await this.current();
    let answer = await this.http.call(method, this.url(session, container, object, r.query), { ...r, headers: { ...r.headers, 'x-auth-token': session.token } });
    if (answer.status === 401) {
      session = await this.current(true);
      answer = await this.http.call(method, this.url(session, container, object, r.query), { ...r, headers: { ...r.headers, 'x-auth-token': session.token } });
    }
    return answer;
  }

  async open(method: string, container: string, object: string | undefined, r: SwiftRequest): Promise<HttpOpened> {
    let session = await this.current();
    let opened = await this.http.open(method, this.url(session, container, object, r.query), { ...r, headers: { ...r.headers, 'x-auth-token': session.token } });
    if (opened.status === 401) {
      opened.stream.resume();
      session = await this.current(true);
      opened = await this.http.open(method, this.url(session, container, object, r.query), { ...r, headers: { ...r.headers, 'x-auth-token': session.token } });
    }
    return opened;
  }

  /** A streamed PUT; the token is renewed first if it is close to expiry, since a 401 cannot be retried. */
  async upload(container: string, object: string, r: SwiftRequest): Promise<ReturnType<HttpExchange['upload']>> {
    const session = await this.current();
    return this.http.upload('PUT', this.url(session, container, object, r.query), { ...r, headers: { ...r.headers, 'x-auth-token': session.token } });
  }

  /** An error for an unexpected answer, with the status and the first words of Swift's explanation. */
  unexpected(operation: string, answer: { status: number; body?: Buffer }): VisorError {
    const hint = answer.status === 401 || answer.status === 403 ? ' (check the store credentials)' : '';
    return storeFailure(this.store, operation, `${answer.status}${hint}${answer.body?.length ? ` ${answerText(answer.body)}` : ''}`);
  }

  close(): void {
    this.http.close();
  }
}

import type { HttpExchange } from '../remote/HttpExchange.ts';
import { answerText } from '../remote/HttpExchange.ts';
import { storeFailure } from '../storeErrors.ts';

/** A token and the storage URL it is good for. */
export interface SwiftSession {
  token: string;
  storageUrl: string;
  /** Milliseconds since the epoch; absent when the service does not say. */
  expiresAt?: number;
}

/** How a Swift store gets a token: TempAuth (v1) or Keystone (v3). */
export interface SwiftAuth {
  authenticate(http: HttpExchange, store: { name: string; type: string }): Promise<SwiftSession>;
}

export interface TempAuthOptions {
  /** e.g. http://127.0.0.1:8080/auth/v1.0 */
  url: string;
  /** account:user */
  user: string;
  key: string;
}

/** Swift's TempAuth (and other v1 auth, such as Swauth): credentials in headers, token and storage URL back. */
export class TempAuthV1 implements SwiftAuth {
  private readonly o: TempAuthOptions;

  constructor(options: TempAuthOptions) {
    this.o = options;
  }

  async authenticate(http: HttpExchange, store: { name: string; type: string }): Promise<SwiftSession> {
    const answer = await http.call('GET', this.o.url, { operation: 'authentication (TempAuth v1)', headers: { 'x-auth-user': this.o.user, 'x-auth-key': this.o.key } });
    const token = answer.headers['x-auth-token'];
    const storageUrl = answer.headers['x-storage-url'];
    if (answer.status >= 300 || typeof token !== 'string' || typeof storageUrl !== 'string') {
      throw storeFailure(store, 'authentication (TempAuth v1)', `${answer.status}${answer.status === 401 ? ' (check the store credentials)' : ''} ${answerText(answer.body)}`.trim());
    }
    const expires = Number(answer.headers['x-auth-token-expires']);
    return { token, storageUrl, ...(Number.isFinite(expires) && expires > 0 ? { expiresAt: Date.now() + expires * 1000 } : {}) };
  }
}

export interface KeystoneOptions {
  /** Identity API base, e.g. https://keystone.example.org:5000/v3 */
  url: string;
  user: string;
  password: string;
  userDomain: string;
  project: string;
  projectDomain: string;
  /** Region of the object-store endpoint; the first one when absent. */
  region?: string;
  /** Endpoint interface: public (default), internal or admin. */
  interface: string;
}

interface CatalogEntry {
  type?: string;
  endpoints?: Array<{ interface?: string; region?: string; region_id?: string; url?: string }>;
}

/** Keystone v3 password authentication scoped to a project; the storage URL comes from the service catalogue. */
export class KeystoneV3 implements SwiftAuth {
  private readonly o: KeystoneOptions;

  constructor(options: KeystoneOptions) {
    this.o = options;
  }

  async authenticate(http: HttpExchange, store: { name: string; type: string }): Promise<SwiftSession> {
    const body = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: this.o.user, domain: { name: this.o.userDomain }, password: this.o.password } } },
        scope: { project: { name: this.o.project, domain: { name: this.o.projectDomain } } },
      },
    });
    const operation = 'authentication (Keystone v3)';
    const answer = await http.call('POST', `${this.o.url.replace(/\/+$/, '')}/auth/tokens`, { operation, headers: { 'content-type': 'application/json', accept: 'application/json' }, body });
    const token = answer.headers['x-subject-token'];
    if (answer.status !== 201 || typeof token !== 'string') {
      throw storeFailure(store, operation, `${answer.status}${answer.status === 401 ? ' (check the store credentials)' : ''} ${answerText(answer.body)}`.trim());
    }
    let parsed: { token?: { expires_at?: string; catalog?: CatalogEntry[] } };
    try {
      parsed = JSON.parse(answer.body.toString('utf8')) as typeof parsed;
    } catch {
      throw storeFailure(store, operation, 'the token answer is not JSON');
    }
    const endpoint = (parsed.token?.catalog ?? [])
      .filter((s) => s.type === 'object-store')
      .flatMap((s) => s.endpoints ?? [])
      .find((e) => e.interface === this.o.interface && (this.o.region === undefined || e.region_id === this.o.region || e.region === this.o.region));
    if (!endpoint?.url) {
      throw storeFailure(store, operation, `no ${this.o.interface} object-store endpoint${this.o.region ? ` in region ${this.o.region}` : ''} in the service catalogue`);
    }
    const expiresAt = parsed.token?.expires_at ? Date.parse(parsed.token.expires_at) : NaN;
    return { token, storageUrl: endpoint.url.replace(/\/+$/, ''), ...(Number.isFinite(expiresAt) ? { expiresAt } : {}) };
  }
}

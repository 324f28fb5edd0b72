import { HttpExchange, answerText, type HttpAnswer } from '../remote/HttpExchange.ts';
import type { RetryPolicy } from '../remote/transientRetry.ts';
import { encodeKeyPath } from '../objectKey.ts';
import { storeFailure } from '../storeErrors.ts';

export interface WebHdfsAccess {
  /** The namenode's HTTP address, e.g. http://namenode:9870. */
  url: string;
  /** Simple authentication: the user the requests act as (user.name). */
  user?: string;
  /** Or a delegation token (a secret: configuration or environment only). */
  delegationToken?: string;
  timeoutMs: number;
  retry: RetryPolicy;
}

export type WebHdfsAnswer = HttpAnswer & { json: unknown };

/**
 * WebHDFS operations at the namenode for one store: URLs with the credentials in the query as WebHDFS
 * has them, JSON answers, and errors built from HDFS's RemoteException. Shared by the store and its
 * writes.
 */
export class WebHdfsNamenode {
  readonly http: HttpExchange;
  private readonly store: { name: string; type: string };
  private readonly access: WebHdfsAccess;

  constructor(store: { name: string; type: string }, access: WebHdfsAccess) {
    this.store = store;
    this.access = access;
    this.http = new HttpExchange({ store, timeoutMs: access.timeoutMs, retry: access.retry });
  }

  /** The namenode URL of an operation on a path. */
  url(path: string, op: string, params: Record<string, string> = {}): string {
    const auth: Record<string, string> = this.access.delegationToken ? { delegation: this.access.delegationToken } : this.access.user ? { 'user.name': this.access.user } : {};
    return `${this.access.url.replace(/\/+$/, '')}/webhdfs/v1${encodeKeyPath(path.replace(/^\//, '')).replace(/^/, '/')}?${new URLSearchParams({ op, ...params, ...auth })}`;
  }

  /** A datanode's address from a namenode's redirect. */
  resolve(location: string): string {
    return new URL(location, this.access.url).href;
  }

  /** A namenode operation with a JSON answer; statuses are left to the caller. */
  async call(method: string, path: string, op: string, operation: string, params: Record<string, string> = {}): Promise<WebHdfsAnswer> {
    const answer = await this.http.call(method, this.url(path, op, params), { operation });
    return { ...answer, json: parseJson(answer.body) };
  }

  unexpected(operation: string, answer: HttpAnswer & { json?: unknown }): Error {
    const json = answer.json ?? parseJson(answer.body);
    const remote = (json as { RemoteException?: { exception?: string; message?: string } } | undefined)?.RemoteException;
    const hint = answer.status === 401 || answer.status === 403 ? ' (check the store credentials)' : '';
    const what = remote ? `${remote.exception ?? ''}: ${remote.message ?? ''}` : answerText(answer.body);
    return storeFailure(this.store, operation, `${answer.status}${hint} ${what}`.trim());
  }

  close(): void {
    this.http.close();
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

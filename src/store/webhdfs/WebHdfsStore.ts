import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ByteRange, ImageStore, IncompleteWrite, ObjectStat, StoreHealth, StoreWrite, WriteOptions } from '../ImageStore.ts';
import { HttpExchange, answerText, type HttpAnswer, type HttpOpened } from '../http/HttpExchange.ts';
import { assertObjectKey, encodeKeyPath } from '../objectKey.ts';
import { objectNotFound, storeFailure } from '../storeErrors.ts';
import type { RetryPolicy } from '../transientRetry.ts';
import { WebHdfsWrite } from './WebHdfsWrite.ts';

export interface WebHdfsStoreOptions {
  name: string;
  /** The namenode's HTTP address, e.g. http://namenode:9870. */
  url: string;
  /** Folder in HDFS that holds the images. */
  path: string;
  /** Simple authentication: the user the requests act as (user.name). */
  user?: string;
  /** Or a delegation token (a secret: configuration or environment only). */
  delegationToken?: string;
  timeoutMs: number;
  retry: RetryPolicy;
}

interface FileStatus {
  pathSuffix: string;
  type: string;
  length: number;
  modificationTime: number;
}

const INCOMING = '.incoming';

/**
 * Images in HDFS through WebHDFS (REST): two-step CREATE (the namenode redirects to a datanode, which
 * takes the bytes), OPEN with offset and length, RENAME into place on commit, DELETE, GETFILESTATUS,
 * LISTSTATUS. Files are sharded like the fs store: <path>/<key[0:2]>/<key>.
 */
export class WebHdfsStore implements ImageStore {
  readonly name: string;
  readonly type = 'hdfs';
  readonly writable = true;
  private readonly o: WebHdfsStoreOptions;
  readonly http: HttpExchange;
  private readonly root: string;

  constructor(options: WebHdfsStoreOptions) {
    this.name = options.name;
    this.o = options;
    this.root = `/${options.path.replace(/^\/+|\/+$/g, '')}`.replace(/^\/$/, '');
    this.http = new HttpExchange({ store: this, timeoutMs: options.timeoutMs, retry: options.retry });
  }

  private pathOf(key: string): string {
    assertObjectKey(this, key);
    return `${this.root}/${key.slice(0, 2)}/${key}`;
  }

  /** The namenode URL of an operation on a path, with the credentials in the query as WebHDFS has them. */
  url(path: string, op: string, params: Record<string, string> = {}): string {
    const auth: Record<string, string> = this.o.delegationToken ? { delegation: this.o.delegationToken } : this.o.user ? { 'user.name': this.o.user } : {};
    return `${this.o.url.replace(/\/+$/, '')}/webhdfs/v1${encodeKeyPath(path.replace(/^\//, '')).replace(/^/, '/')}?${new URLSearchParams({ op, ...params, ...auth })}`;
  }

  /** A namenode operation with a JSON answer; statuses are left to the caller. */
  async call(method: string, path: string, op: string, operation: string, params: Record<string, string> = {}): Promise<HttpAnswer & { json: unknown }> {
    const answer = await this.http.call(method, this.url(path, op, params), { operation });
    let json: unknown;
    try {
      json = answer.body.length ? JSON.parse(answer.body.toString('utf8')) : undefined;
    } catch {
      json = undefined;
    }
    return { ...answer, json };
  }

  unexpected(operation: string, answer: HttpAnswer & { json?: unknown }): Error {
    const remote = (answer.json as { RemoteException?: { exception?: string; message?: string } } | undefined)?.RemoteException;
    const hint = answer.status === 401 || answer.status === 403 ? ' (check the store credentials)' : '';
    const what = remote ? `${remote.exception ?? ''}: ${remote.message ?? ''}` : answerText(answer.body);
    return storeFailure(this, operation, `${answer.status}${hint} ${what}`.trim());
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    const answer = await this.call('GET', this.pathOf(key), 'GETFILESTATUS', `stat of ${key}`);
    if (answer.status === 404) return undefined;
    const s = (answer.json as { FileStatus?: FileStatus } | undefined)?.FileStatus;
    if (answer.status !== 200 || !s) throw this.unexpected(`stat of ${key}`, answer);
    if (s.type !== 'FILE') return undefined;
    return { key, size: s.length, modified: new Date(s.modificationTime) };
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const params: Record<string, string> = range ? { offset: String(range.start), length: String(range.end - range.start + 1) } : {};
    const operation = `read of ${key}`;
    const options = { operation, ...(signal ? { signal } : {}) };
    let opened: HttpOpened = await this.http.open('GET', this.url(this.pathOf(key), 'OPEN', params), options);
    // The namenode redirects to a datanode that holds the blocks.
    for (let hops = 0; opened.status >= 300 && opened.status < 400 && hops < 5; hops++) {
      const location = opened.headers.location;
      opened.stream.resume();
      if (!location) throw storeFailure(this, operation, `redirect ${opened.status} without Location`);
      opened = await this.http.open('GET', new URL(location, this.o.url).href, options);
    }
    if (opened.status === 200) return opened.stream;
    const body = await readSmall(opened.stream);
    const answer = { status: opened.status, headers: opened.headers, body, json: safeJson(body) };
    if (opened.status === 404) throw objectNotFound(this, key);
    throw this.unexpected(operation, answer);
  }

  async write(key: string, options: WriteOptions = {}): Promise<StoreWrite> {
    const target = this.pathOf(key);
    const temp = `${this.root}/${INCOMING}/${encodeURIComponent(key)}.${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    return new WebHdfsWrite({ store: this, key, target, temp, ...(options.signal ? { signal: options.signal } : {}) });
  }

  async delete(key: string): Promise<void> {
    const answer = await this.call('DELETE', this.pathOf(key), 'DELETE', `delete of ${key}`, { recursive: 'false' });
    if (answer.status !== 200 && answer.status !== 404) throw this.unexpected(`delete of ${key}`, answer);
  }

  private async listStatus(path: string, operation: string): Promise<FileStatus[]> {
    const answer = await this.call('GET', path, 'LISTSTATUS', operation);
    if (answer.status === 404) return [];
    const list = (answer.json as { FileStatuses?: { FileStatus?: FileStatus[] } } | undefined)?.FileStatuses?.FileStatus;
    if (answer.status !== 200 || !list) throw this.unexpected(operation, answer);
    return list;
  }

  async *list(prefix = ''): AsyncIterable<ObjectStat> {
    for (const shard of await this.listStatus(this.root || '/', 'listing')) {
      if (shard.type !== 'DIRECTORY' || shard.pathSuffix.startsWith('.')) continue;
      for (const f of await this.listStatus(`${this.root}/${shard.pathSuffix}`, 'listing')) {
        if (f.type === 'FILE' && f.pathSuffix.startsWith(prefix)) yield { key: f.pathSuffix, size: f.length, modified: new Date(f.modificationTime) };
      }
    }
  }

  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {
    for (const f of await this.listStatus(`${this.root}/${INCOMING}`, 'listing of unfinished writes')) {
      if (f.type !== 'FILE' || f.pathSuffix.startsWith('.health-')) continue;
      yield { key: decodeURIComponent(f.pathSuffix.replace(/\.[0-9a-z]+-[0-9a-f]{8}$/, '')), id: f.pathSuffix, started: new Date(f.modificationTime), bytes: f.length };
    }
  }

  async discardIncomplete(write: IncompleteWrite): Promise<void> {
    if (write.id.includes('/') || write.id.startsWith('.')) throw storeFailure(this, 'discard', `${write.id} is not an unfinished write`);
    const answer = await this.call('DELETE', `${this.root}/${INCOMING}/${write.id}`, 'DELETE', `discard of ${write.id}`);
    if (answer.status !== 200 && answer.status !== 404) throw this.unexpected(`discard of ${write.id}`, answer);
  }

  async health(): Promise<StoreHealth> {
    // A real two-step create, read and delete: namenode, datanode and permissions all show here.
    const path = `${this.root}/${INCOMING}/.health-${randomBytes(4).toString('hex')}`;
    try {
      const created = await this.call('PUT', path, 'CREATE', 'health probe', { overwrite: 'true' });
      if (created.status !== 307 || !created.headers.location) throw this.unexpected('health probe', created);
      const stored = await this.http.call('PUT', new URL(created.headers.location, this.o.url).href, { operation: 'health probe', body: 'ok' });
      if (stored.status !== 201) throw this.unexpected('health probe', { ...stored, json: safeJson(stored.body) });
      const status = await this.call('GET', path, 'GETFILESTATUS', 'health probe');
      await this.call('DELETE', path, 'DELETE', 'health probe');
      const length = (status.json as { FileStatus?: FileStatus } | undefined)?.FileStatus?.length;
      return length === 2 ? { ok: true } : { ok: false, detail: 'the probe file read back differently' };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  async close(): Promise<void> {
    this.http.close();
  }
}

function safeJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

async function readSmall(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    parts.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 65536) break;
  }
  return Buffer.concat(parts);
}

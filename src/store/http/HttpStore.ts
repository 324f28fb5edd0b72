import type { Readable } from 'node:stream';
import type { ByteRange, IncompleteWrite, ObjectStat, StoreAdapter, StoreWrite } from '../ImageStore.ts';
import { encodeKeyPath } from '../objectKey.ts';
import { HttpExchange, type HttpOpened } from '../remote/HttpExchange.ts';
import { rangeOf } from '../remote/rangeOf.ts';
import type { RetryPolicy } from '../remote/transientRetry.ts';
import { objectNotFound, readOnlyStore, storeFailure } from '../storeErrors.ts';

export interface HttpStoreOptions {
  name: string;
  /** Base URL; keys are paths relative to it, so the store can never be pointed elsewhere. */
  url: string;
  timeoutMs: number;
  retry: RetryPolicy;
}

/** Redirects followed, as browsers and mirrors expect. */
const MAX_REDIRECTS = 10;
// Image bytes are passed on as they are: identity asks the server not to compress them.
const HEADERS = { 'user-agent': 'visor', 'accept-encoding': 'identity' };

/**
 * Read-only images on any web server (a distribution's mirror, an object store's public URL): an image
 * is registered by URL, and downloads pass through the daemon with Range forwarded and redirects
 * followed. VISOR does not own these files: it never writes or deletes them.
 */
export class HttpStore implements StoreAdapter {
  readonly name: string;
  readonly type = 'http';
  readonly writable = false;
  readonly base: URL;
  private readonly http: HttpExchange;

  constructor(options: HttpStoreOptions) {
    this.name = options.name;
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.http = new HttpExchange({ store: this, timeoutMs: options.timeoutMs, retry: options.retry });
  }

  /** The key's URL (keys are checked by GuardedStore: relative, no dot segments). */
  urlOf(key: string): URL {
    return new URL(encodeKeyPath(key), this.base);
  }

  /** The key of a URL under the base (for registering by URL). */
  keyOf(url: string): string | undefined {
    if (!url.startsWith(this.base.href)) return undefined;
    return decodeURIComponent(url.slice(this.base.href.length).split(/[?#]/)[0]!);
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    const operation = `stat of ${key}`;
    const head = await this.http.call('HEAD', this.urlOf(key).href, { operation, headers: HEADERS, redirects: MAX_REDIRECTS });
    if (head.status === 404 || head.status === 410) return undefined;
    if (head.status !== 200) throw this.unexpected(operation, head.status);
    const modified = head.headers['last-modified'] ? new Date(head.headers['last-modified']) : undefined;
    const length = head.headers['content-length'];
    const size = length !== undefined ? Number(length) : await this.sizeFromRange(key);
    return { key, size, ...(modified ? { modified } : {}) };
  }

  /** For servers whose HEAD has no Content-Length: the total of a one-byte range. */
  private async sizeFromRange(key: string): Promise<number> {
    const opened = await this.open(key, { start: 0, end: 0 });
    opened.stream.destroy();
    const total = /\/(\d+)$/.exec(String(opened.headers['content-range'] ?? ''))?.[1];
    if (total === undefined) throw storeFailure(this, `stat of ${key}`, 'the server gives neither Content-Length nor Content-Range');
    return Number(total);
  }

  private open(key: string, range: ByteRange | undefined, signal?: AbortSignal): Promise<HttpOpened> {
    const headers = range ? { ...HEADERS, range: `bytes=${range.start}-${range.end}` } : HEADERS;
    return this.http.open('GET', this.urlOf(key).href, { operation: `read of ${key}`, headers, redirects: MAX_REDIRECTS, ...(signal ? { signal } : {}) });
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const opened = await this.open(key, range, signal);
    if (opened.status === 200 || opened.status === 206) return rangeOf(opened, range);
    opened.stream.resume();
    if (opened.status === 404 || opened.status === 410) throw objectNotFound(this, key);
    throw this.unexpected(`read of ${key}`, opened.status);
  }

  async write(): Promise<StoreWrite> {
    throw readOnlyStore(this);
  }

  /** The file belongs to its web server: forgetting the location is all a delete does. */
  async delete(): Promise<void> {}

  // A web server has no listing and VISOR never writes there: nothing to list, nothing left over.
  async *list(): AsyncIterable<ObjectStat> {}
  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {}
  async discardIncomplete(): Promise<void> {}

  async close(): Promise<void> {
    this.http.close();
  }

  private unexpected(operation: string, status: number) {
    return storeFailure(this, operation, `${this.base.host} answered ${status}`);
  }
}

import { Agent as HttpAgent, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Readable } from 'node:stream';
import got, { type Got, type Request } from 'got';
import type { ByteRange, ImageStore, IncompleteWrite, ObjectStat, StoreHealth, StoreWrite } from '../ImageStore.ts';
import { assertObjectKey, encodeKeyPath } from '../objectKey.ts';
import { rangeOf } from '../rangeOf.ts';
import { abortError, objectNotFound, readOnlyStore, storeFailure } from '../storeErrors.ts';
import { isTransient, withRetries, type RetryPolicy } from '../transientRetry.ts';

export interface HttpStoreOptions {
  name: string;
  /** Base URL; keys are paths relative to it, so the store can never be pointed elsewhere. */
  url: string;
  timeoutMs: number;
  retry: RetryPolicy;
}

class RetryableStatus extends Error {
  readonly status: number;
  constructor(status: number) {
    super(`status ${status}`);
    this.status = status;
  }
}

/**
 * Read-only images on any web server (a distribution's mirror, an object store's public URL): an image
 * is registered by URL, and downloads pass through the daemon with Range forwarded and redirects
 * followed (got). VISOR does not own these files: it never writes or deletes them.
 */
export class HttpStore implements ImageStore {
  readonly name: string;
  readonly type = 'http';
  readonly writable = false;
  readonly base: URL;
  private readonly o: HttpStoreOptions;
  private readonly client: Got;
  private readonly agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  constructor(options: HttpStoreOptions) {
    this.name = options.name;
    this.o = options;
    this.base = new URL(options.url.endsWith('/') ? options.url : `${options.url}/`);
    this.client = got.extend({
      throwHttpErrors: false,
      followRedirect: true,
      maxRedirects: 10,
      // Image bytes are passed on as they are, never decoded.
      decompress: false,
      retry: { limit: 0 },
      timeout: { connect: Math.min(10_000, options.timeoutMs), socket: options.timeoutMs },
      agent: this.agents,
      headers: { 'user-agent': 'visor' },
    });
  }

  /** The key's URL, or the key found from a URL under the base (for registering by URL). */
  urlOf(key: string): URL {
    return new URL(encodeKeyPath(assertObjectKey(this, key)), this.base);
  }

  keyOf(url: string): string | undefined {
    if (!url.startsWith(this.base.href)) return undefined;
    return decodeURIComponent(url.slice(this.base.href.length).split(/[?#]/)[0]!);
  }

  async init(): Promise<void> {}

  async stat(key: string): Promise<ObjectStat | undefined> {
    const url = this.urlOf(key);
    const head = await this.retrying(`stat of ${key}`, async () => {
      const res = await this.client(url, { method: 'HEAD' });
      if (isTransient({ status: res.statusCode })) throw new RetryableStatus(res.statusCode);
      return res;
    });
    if (head.statusCode === 404 || head.statusCode === 410) return undefined;
    if (head.statusCode !== 200) throw this.unexpected(`stat of ${key}`, head.statusCode);
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

  private async open(key: string, range: ByteRange | undefined, signal?: AbortSignal): Promise<{ status: number; headers: IncomingHttpHeaders; stream: Request }> {
    const url = this.urlOf(key);
    return this.retrying(`read of ${key}`, () => new Promise((resolve, reject) => {
      const stream = this.client.stream(url, { headers: range ? { range: `bytes=${range.start}-${range.end}` } : {}, ...(signal ? { signal } : {}) });
      stream.once('response', (res: { statusCode: number; headers: IncomingHttpHeaders }) => {
        if (isTransient({ status: res.statusCode })) {
          stream.destroy();
          reject(new RetryableStatus(res.statusCode));
        } else resolve({ status: res.statusCode, headers: res.headers, stream });
      });
      stream.once('error', (e) => reject(signal?.aborted ? abortError(signal) : e));
    }), signal);
  }

  async read(key: string, range?: ByteRange, signal?: AbortSignal): Promise<Readable> {
    const opened = await this.open(key, range, signal);
    if (opened.status === 200 || opened.status === 206) return rangeOf(opened, range);
    opened.stream.destroy();
    if (opened.status === 404 || opened.status === 410) throw objectNotFound(this, key);
    throw this.unexpected(`read of ${key}`, opened.status);
  }

  async write(): Promise<StoreWrite> {
    throw readOnlyStore(this);
  }

  /** The file belongs to its web server: forgetting the location is all a delete does. */
  async delete(key: string): Promise<void> {
    assertObjectKey(this, key);
  }

  // A web server has no listing and VISOR never writes there: nothing to list, nothing left over.
  async *list(): AsyncIterable<ObjectStat> {}
  async *incompleteWrites(): AsyncIterable<IncompleteWrite> {}
  async discardIncomplete(): Promise<void> {}

  async health(): Promise<StoreHealth> {
    try {
      const res = await this.client(this.base, { method: 'HEAD' });
      // Any answer short of a server error means the server is there; its index page may well be a 403.
      return res.statusCode < 500 ? { ok: true } : { ok: false, detail: this.unexpected('health probe', res.statusCode).message };
    } catch (e) {
      return { ok: false, detail: this.transport('health probe', e).message };
    }
  }

  async close(): Promise<void> {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async retrying<T>(operation: string, attempt: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await withRetries(this.o.retry, attempt, (e) => e instanceof RetryableStatus || isTransient({ code: (e as NodeJS.ErrnoException).code! }), signal);
    } catch (e) {
      if (e instanceof RetryableStatus) throw this.unexpected(operation, e.status);
      if ((e as Error).name === 'AbortError') throw e;
      throw this.transport(operation, e);
    }
  }

  private unexpected(operation: string, status: number) {
    return storeFailure(this, operation, `${this.base.host} answered ${status}`);
  }

  private transport(operation: string, e: unknown) {
    const err = e as NodeJS.ErrnoException;
    return storeFailure(this, operation, `${this.base.host}: ${err.code ?? err.message}`);
  }
}

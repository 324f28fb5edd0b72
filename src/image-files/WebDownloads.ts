import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import { PassThrough } from 'node:stream';
import type { RequestError } from 'got';
import type { ImageRecord } from '../api/ImageRecord.ts';
import type { Principal } from '../auth/Principal.ts';
import { TooManyRequests, VisorError } from '../errors/VisorError.ts';
import type { ImageUploads } from './ImageUploads.ts';
import { webDownloadRefused, WebDownloadPolicy } from './WebDownloadPolicy.ts';

/**
 * A name lookup that judges every address a host resolves to and hands the connection only what it
 * judged: the socket connects to the very address checked, so a host that answers a public address
 * to a first lookup and a private one to the next (DNS rebinding) gains nothing. A host with any
 * address out of bounds is refused as a whole.
 */
export function checkedLookup(policy: WebDownloadPolicy): LookupFunction {
  return ((hostname: string, options: { all?: boolean; family?: number }, callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void) => {
    dnsLookup(hostname, { all: true, ...(options.family ? { family: options.family } : {}) }, (error, addresses) => {
      if (error) return callback(error, '');
      try {
        for (const a of addresses) policy.checkAddress(a.address, hostname);
      } catch (refusal) {
        return callback(refusal as Error, '');
      }
      if (options.all) return callback(null, addresses);
      const first = addresses[0];
      if (first === undefined) return callback(webDownloadRefused('host', `${hostname} resolves to no address`), '');
      callback(null, first.address, first.family);
    });
  }) as LookupFunction;
}

/** Resolves a host (not an IP literal) once and judges its addresses: a refusal then comes before the import is accepted. */
function resolveChecked(policy: WebDownloadPolicy, url: URL): Promise<void> {
  const lookup = checkedLookup(policy) as unknown as (h: string, o: { all: boolean }, cb: (e: Error | null) => void) => void;
  return new Promise((resolve, reject) => lookup(url.hostname.replace(/^\[|\]$/g, ''), { all: true }, (e) => (e ? reject(e instanceof VisorError ? e : webDownloadRefused('host', `${url.hostname} does not resolve`)) : resolve())));
}

/**
 * Glance's web-download: an image's file fetched from a URL, through VISOR's one upload path
 * (hashed, format-inspected, scanned, capped at uploads.max_bytes like any upload). Every hop
 * (the URL and each redirect) is judged by the policy before it is fetched, and each connection
 * goes to an address the policy judged; the whole download has a time limit.
 */
export class WebDownloads {
  readonly policy: WebDownloadPolicy;
  private readonly o: { uploads: ImageUploads; maxBytes: number };
  /** Downloads under way: each holds a connection out and an upload in for up to the time limit. */
  private running = 0;
  /**
   * Agents of web-download's own, never pooling: a pooled socket is reused by host and port without a
   * lookup, so one the daemon's other clients (an http store, webhooks) hold open to an internal host
   * would carry a download there unjudged.
   */
  private readonly agent = { http: new HttpAgent({ keepAlive: false }), https: new HttpsAgent({ keepAlive: false }) };

  constructor(options: { uploads: ImageUploads; maxBytes: number; policy: WebDownloadPolicy }) {
    this.policy = options.policy;
    this.o = options;
  }

  /** Judges the URL and its host's addresses now: throws naming the rule a refused one breaks. */
  async admit(uri: unknown): Promise<URL> {
    if (typeof uri !== 'string' || uri === '') throw webDownloadRefused('scheme', 'method.uri must be an http or https URL');
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw webDownloadRefused('scheme', `${JSON.stringify(uri.slice(0, 200))} is not a URL`);
    }
    this.policy.checkUrl(url);
    await resolveChecked(this.policy, url);
    return url;
  }

  /** Fetches the URL (admitted first) into the image's file; the upload records success or failure. */
  /** Throws (429) when the daemon-wide number of downloads under way is reached: an import then starts nothing. */
  assertCapacity(): void {
    if (this.running >= this.policy.settings.maxConcurrent) {
      throw new TooManyRequests(`web-download refused: ${this.running} downloads are under way, the most this daemon runs at once (web_download.max_concurrent); import again later`, 30);
    }
  }

  download(id: string, url: URL, caller: Principal, mark: { method: string }): Promise<ImageRecord> {
    this.assertCapacity();
    this.running++;
    return this.fetch(id, url, caller, mark).finally(() => this.running--);
  }

  private async fetch(id: string, url: URL, caller: Principal, mark: { method: string }): Promise<ImageRecord> {
    // Loaded on the first download, not with the daemon: got is ~120 ms of a start's module loading.
    const { default: got } = await import('got');
    const { policy } = this;
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    const source = got.stream(url, {
      dnsLookup: checkedLookup(policy),
      agent: this.agent,
      followRedirect: policy.settings.maxRedirects > 0,
      maxRedirects: policy.settings.maxRedirects,
      timeout: { request: policy.settings.timeoutMs },
      retry: { limit: 0 },
      decompress: false,
      headers: { 'user-agent': 'VISOR web-download' },
      hooks: {
        // Each hop is judged as the first was (its address by the lookup when it connects).
        beforeRedirect: [
          (options) => {
            const next = options.url instanceof URL ? options.url : new URL(String(options.url));
            try {
              policy.checkUrl(next);
            } catch (e) {
              throw webDownloadRefused('redirect', `a redirect to ${next.origin} was refused: ${(e as Error).message}`);
            }
          },
        ],
      },
    });
    source.on('response', (res: { headers: Record<string, string | string[] | undefined> }) => {
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > this.o.maxBytes) source.destroy(webDownloadRefused('size', `the file is ${length} bytes, over the limit of ${this.o.maxBytes} (uploads.max_bytes)`));
    });
    source.on('error', (e: RequestError) => body.destroy(reasonOf(e, policy.settings.timeoutMs)));
    // A refusal may come before the upload path reads the body (it first records the start): the
    // body keeps the error, which the upload then fails with; no listener must not make it uncaught.
    body.on('error', () => undefined);
    // The upload stopped reading (failed, or the daemon stops): the fetch stops too.
    body.once('close', () => source.destroy());
    source.pipe(body);
    return this.o.uploads.upload(id, body, { clientDigests: true, importMethod: mark.method }, caller);
  }
}

/** The refusal a fetch failed with, in words fit for the record (never the raw socket error). */
function reasonOf(e: RequestError, timeoutMs: number): VisorError {
  const cause = (e as { cause?: unknown }).cause;
  if (e instanceof VisorError) return e;
  if (cause instanceof VisorError) return cause;
  if (e.name === 'TimeoutError') return webDownloadRefused('time', `the download took over ${timeoutMs / 1000} s`);
  // got checks a redirect's scheme itself, before the hook that judges the hop.
  if (e.code === 'ERR_UNSUPPORTED_PROTOCOL') return webDownloadRefused('redirect', 'a redirect to a URL that is not http or https was refused');
  if (e.name === 'MaxRedirectsError') return webDownloadRefused('redirect', 'too many redirects');
  if (e.name === 'HTTPError') return webDownloadRefused('status', `the server answered ${e.response?.statusCode ?? 'an error'}`);
  if (e.message.includes('web-download refused')) return new VisorError('invalid', e.message);
  return new VisorError('unavailable', `web-download failed: ${e.code ?? e.name}`);
}

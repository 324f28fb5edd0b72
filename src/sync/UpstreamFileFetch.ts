import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { VisorError } from '../errors/VisorError.ts';
import { algorithmOf, hashedCopy } from '../image-files/HashedCopy.ts';
import { FormatInspection } from '../inspection/FormatInspection.ts';
import { verdictOn, type InspectionPolicy } from '../inspection/InspectionVerdict.ts';
import type { UploadScan } from '../scanning/ImageScans.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { storeFailureOf } from '../store/storeErrors.ts';

/** Where a fetch reads from and writes to. */
export interface FetchEnds {
  /** The upstream's name, for messages. */
  upstream: string;
  /** The upstream daemon's GET /images/<id>/file. */
  url: string;
  store: ImageStore;
  key: string;
  signal: AbortSignal;
  /** The upstream inspected the file, or says so: the bytes are inspected here too (uploads.max_virtual_size). */
  inspection: InspectionPolicy;
  /** A malware scan in the same pass, when scanning is on: the upstream's record of its own scan proves nothing either. */
  scan?: UploadScan | undefined;
}

/**
 * How long the download that started a fetch may leave its buffer full: a client that reads slowly
 * (or not at all) would otherwise hold the one upstream read, and every download waiting on it, to
 * its pace. Past it, that download is cut and the fetch goes on at the upstream's pace.
 */
const CLIENT_LAG_MS = 5_000;

/** How long the upstream may take to connect, to answer, and to send its next byte. */
const TIMEOUTS = { connect: 10_000, response: 30_000, socket: 60_000 };

function refused(image: ImageRecord, upstream: string, what: string): VisorError {
  return new VisorError('upstream_failed', `upstream ${upstream} served image ${image.id}'s file with ${what}; nothing was kept, the next download fetches it again`);
}

/**
 * Opens the upstream's file route. Got retries (its built-in policy: network errors, 5xx and 429,
 * twice, with backoff) until the head of an answer arrives, never after: bytes already hashed cannot
 * be read twice. No redirects: the upstream is untrusted and must not point this daemon at another
 * host. got is imported on first use: most instances never fetch, and it costs ~30 MiB and ~0.5 s to load.
 */
async function openUpstream(image: ImageRecord, ends: FetchEnds): Promise<Readable> {
  const { default: got } = await import('got');
  return new Promise<Readable>((resolve, reject) => {
    const attempt = (request: Readable & { once: Readable['once'] }) => {
      // Kept for the stream's whole life: a failure before the copy watches it must not crash the process.
      request.on('error', () => undefined);
      const onRetry = (_count: number, _error: unknown, again: () => Readable) => {
        done();
        attempt(again());
      };
      const onResponse = (response: IncomingMessage) => {
        done();
        // Refused before a byte is read where the answer already says it is not the record's file.
        const length = response.headers['content-length'];
        if (length !== undefined && Number(length) !== image.size) {
          request.destroy();
          reject(refused(image, ends.upstream, `Content-Length ${length} instead of ${image.size}`));
          return;
        }
        resolve(request);
      };
      const onError = (error: Error & { response?: { statusCode?: number } }) => {
        done();
        const status = error.response?.statusCode;
        reject(new VisorError('upstream_failed', `upstream ${ends.upstream} could not serve image ${image.id}'s file: ${status !== undefined ? `it answered ${status}` : (error as NodeJS.ErrnoException).code ?? error.name}`, [], { cause: error }));
      };
      const done = () => {
        request.off('retry', onRetry);
        request.off('response', onResponse);
        request.off('error', onError);
      };
      request.once('retry', onRetry);
      request.once('response', onResponse);
      request.once('error', onError);
    };
    attempt(
      got.stream(ends.url, {
        signal: ends.signal,
        followRedirect: false,
        // Image bytes are opaque: a Content-Encoding must not change what is hashed and kept.
        decompress: false,
        headers: { 'accept-encoding': 'identity' },
        timeout: TIMEOUTS,
        retry: { limit: 2 },
      }) as unknown as Readable & { once: Readable['once'] },
    );
  });
}

/**
 * The sink of a fetch: every byte goes to the store's write and, while it listens, to the client
 * whose download started the fetch. The client is always one chunk behind: the last chunk is handed
 * over only once the whole file is verified (release), so a client never receives a complete body of
 * bytes that fail verification; it gets a cut connection instead. A slow client slows the fetch (its
 * chunks are not buffered without bound), for CLIENT_LAG_MS at most at a time; one that goes away or
 * lags longer is dropped and the fetch goes on.
 */
class ClientTee extends Writable {
  private readonly store: Writable;
  private readonly client: PassThrough | undefined;
  private held: Buffer | undefined;

  constructor(store: Writable, client: PassThrough | undefined) {
    super({ highWaterMark: 1 << 20 });
    this.store = store;
    this.client = client;
    store.on('error', (e: Error) => this.destroy(e));
    // The copy watches this sink while it runs (TransferEnds); a write that fails after it ended
    // (the store write aborted under a pending chunk) must not crash the process.
    this.on('error', () => undefined);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.forward(chunk).then(() => callback(), callback);
  }

  private async forward(chunk: Buffer): Promise<void> {
    const stored = this.store.write(chunk);
    const client = this.client;
    if (client && !client.destroyed) {
      if (this.held && !client.write(this.held) && !(await drainedOrGone(client, CLIENT_LAG_MS))) {
        client.destroy(new VisorError('unavailable', `the download that started this image's fetch took no bytes for ${CLIENT_LAG_MS / 1000} s; it was cut so that others waiting for the file are not held back (the next download reads the kept copy)`));
      }
      this.held = chunk;
    }
    if (!stored) await once(this.store, 'drain');
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.store.end();
    finished(this.store).then(() => callback(), callback);
  }

  /** The bytes are verified: the client gets the last of them and the end of its body. */
  release(): void {
    if (this.client && !this.client.destroyed) this.client.end(this.held);
  }

  /** The fetch failed: the client's response is cut, never ended cleanly. */
  cut(error: Error): void {
    this.client?.destroy(error);
  }
}

/** Whether the stream drained or closed within `ms`. */
function drainedOrGone(stream: Writable, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (drained: boolean) => () => {
      clearTimeout(timer);
      stream.off('drain', onDrain);
      stream.off('close', onDrain);
      resolve(drained);
    };
    const onDrain = done(true);
    const timer = setTimeout(done(false), ms);
    stream.on('drain', onDrain);
    stream.on('close', onDrain);
  });
}

/**
 * Fetches an image's file from its upstream into a local store: the size is capped at the record's,
 * and the bytes are published (the store write committed) only when their size and digest are the
 * record's. `client`, when given, receives the bytes as they arrive (ClientTee).
 */
export async function fetchUpstreamFile(image: ImageRecord, ends: FetchEnds, client?: PassThrough): Promise<void> {
  const size = image.size!;
  const checksum = image.checksum!;
  let write: Awaited<ReturnType<ImageStore['write']>> | undefined;
  let tee: ClientTee | undefined;
  try {
    const body = await openUpstream(image, ends);
    write = await ends.store.write(ends.key, { expectedSize: size, signal: ends.signal }).catch((e: unknown) => {
      body.destroy();
      throw e;
    });
    tee = new ClientTee(write.stream, client);
    const blame = { source: (e: unknown) => (e instanceof VisorError ? e : refused(image, ends.upstream, `a broken transfer (${(e as NodeJS.ErrnoException).code ?? (e as Error).name})`)), sink: (e: unknown) => storeFailureOf(ends.store, `write of ${ends.key}`, e) };
    // Inspected in the same pass, as an upload is: a hostile upstream's own record of its inspection
    // proves nothing, and its file is hostile input like any other.
    const inspection = new FormatInspection();
    const judge = (file: ReturnType<FormatInspection['finish']>) => {
      try {
        return verdictOn(file, image.disk, ends.inspection);
      } catch (e) {
        throw refused(image, ends.upstream, `a file that format inspection refuses (${e instanceof VisorError ? e.problems.map((p) => `${p.rule}: ${p.message}`).join('; ') : String(e)})`);
      }
    };
    const observe = (chunk: Buffer) => {
      inspection.push(chunk);
      const early = inspection.settledEarly();
      if (early) judge(early);
      return ends.scan?.push(chunk, image.id);
    };
    const copied = await hashedCopy(body, tee, algorithmOf(checksum), size, { signal: ends.signal, blame, observe }).catch((e: unknown) => {
      throw e instanceof VisorError && e.kind === 'too_large' ? refused(image, ends.upstream, `more than the record's ${size} bytes`) : e;
    });
    if (copied.bytes !== size) throw refused(image, ends.upstream, `${copied.bytes} bytes instead of ${size}`);
    if (copied.checksum !== checksum) throw refused(image, ends.upstream, `digest ${copied.checksum} instead of ${checksum}`);
    const found = judge(inspection.finish());
    if (image.virtual_size !== undefined && image.virtual_size !== found.virtual_size) {
      throw refused(image, ends.upstream, `a virtual size of ${found.virtual_size} bytes where its record says ${image.virtual_size}`);
    }
    // No verdict (clamd down, the file over its limits) keeps nothing either: the error says why.
    const scanned = await ends.scan?.verdict(image.id);
    if (scanned?.verdict === 'infected') throw refused(image, ends.upstream, `a file the malware scanner finds infected (${scanned.signature ?? 'unnamed signature'})`);
    tee.release();
    await write.commit();
  } catch (error) {
    ends.scan?.abort();
    const e = error instanceof Error ? error : new Error(String(error));
    if (tee) tee.cut(e);
    else client?.destroy(e);
    await write?.abort().catch(() => undefined);
    throw e;
  }
}

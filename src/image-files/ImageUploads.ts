import type { Readable } from 'node:stream';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { conflict, invalid, invalidField, tooLarge, unavailable, VisorError } from '../errors/VisorError.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { StoreFailure, storeFailureOf } from '../store/storeErrors.ts';
import { FormatInspection } from '../inspection/FormatInspection.ts';
import { verdictOn, type InspectionPolicy } from '../inspection/InspectionVerdict.ts';
import { CHECKSUM_PATTERN, CLIENT_DIGESTS, hashedCopy } from './HashedCopy.ts';
import type { ImageScans } from '../scanning/ImageScans.ts';
import { isQuarantined, quarantined } from '../scanning/Quarantine.ts';

export interface UploadOptions {
  algorithm?: string;
  /** Expected digest "<alg>:<hex>"; a mismatch fails the upload. */
  checksum?: string;
  /** Declared length (Content-Length) when known: rejected up front when over the limit. */
  length?: number;
  /**
   * Also compute the digests Glance v2 clients verify (md5, sha512) in the same pass, kept as the
   * record's `digests`. Asked for by the Glance edge only: with them hashing runs at ~290 MiB/s on
   * one core here, sha256 alone at ~1,300, a cost VISOR's own uploads need not pay.
   */
  clientDigests?: boolean;
  /** An import (Glance's glance-direct, web-download): marked on the record while it runs, and when it fails. */
  importMethod?: string;
  /** Stage the file (glance-direct): stored, inspected and scanned, but the image stays locked until publishStaged. */
  stage?: boolean;
  signal?: AbortSignal;
}

export interface ImageUploadsOptions {
  ledger: ImageLedger;
  stores: ReadonlyMap<string, ImageStore>;
  defaultStore: string;
  maxUploadBytes: number;
  checksum: DigestAlgorithm;
  inspection: InspectionPolicy;
  /** Malware scanning: in the upload's pass (blocking), or behind it (async). */
  scans?: ImageScans;
  onError?: (id: string, error: unknown) => void;
}

/**
 * Uploads of an image's file: streamed into its store while hashed and format-inspected in the same
 * pass, published only once complete, verified and accepted by the inspection, then recorded (a
 * commit) with what the inspection found. A failed or refused upload leaves the image in `error` and
 * nothing in the store.
 */
export class ImageUploads {
  private readonly o: ImageUploadsOptions;
  /** Aborted when the daemon stops: every upload in flight then fails, is marked error, and leaves nothing. */
  private readonly stopping = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(options: ImageUploadsOptions) {
    this.o = options;
  }

  /**
   * Stops the uploads in flight and waits until each is marked error (committed) and has removed
   * what it wrote; later uploads are refused. The catalogue can close only after: a failure marked
   * after it closed would start another commit process that nothing ends.
   */
  async stop(): Promise<void> {
    this.stopping.abort(new UploadStopped());
    await Promise.allSettled([...this.inFlight]);
  }

  /** Uploads under way. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  upload(id: string, body: Readable, options: UploadOptions, caller: Principal | undefined): Promise<ImageRecord> {
    if (this.stopping.signal.aborted) return Promise.reject(unavailable('the daemon is stopping: upload again once it is back'));
    // A signal of its own (the stop's dependents are held weakly): listeners added to it die with the upload.
    const signal = AbortSignal.any(options.signal ? [options.signal, this.stopping.signal] : [this.stopping.signal]);
    const running = this.run(id, body, { ...options, signal }, caller).then((r) => {
      // Blocking mode: an infected file is kept, quarantined, and the uploader told so.
      if (isQuarantined(r)) throw quarantined(r);
      if (r.status === 'available') this.o.scans?.uploaded(r);
      return r;
    });
    this.inFlight.add(running);
    void running.then(
      () => this.inFlight.delete(running),
      () => this.inFlight.delete(running),
    );
    return running;
  }

  /**
   * Throws unless the caller may import a file into the image now: its owner or an admin (an import
   * has the service fetch or publish on their behalf, more than a grantee's upload), and the image
   * has no file yet (or a failed one).
   */
  admitImport(id: string, caller: Principal | undefined): ImageRecord {
    const who = assertSignedIn(caller);
    const r = this.o.ledger.find(id, who, 'manage');
    if (r.status !== 'locked' && r.status !== 'error') throw conflict(`image ${id} is ${r.status}; a file can be imported only while the image has none`);
    return r;
  }

  /**
   * Publishes a staged file (Glance's glance-direct import): the bytes already stored, hashed,
   * inspected and scanned when staged become the image's file. Needs the right to upload.
   */
  async publishStaged(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const r = await this.o.ledger.withFile(id, who, 'commit', async (current) => {
      if (current.status !== 'locked' || current.import_state?.state !== 'staged') {
        throw conflict(`image ${id} has no staged file to import (stage one first: PUT /v2/images/${id}/stage)`);
      }
      const now = new Date().toISOString();
      const { import_state: _staged, ...rest } = current;
      const published: ImageRecord = { ...rest, status: 'available', uploaded_at: now, updated_at: now };
      await this.o.ledger.commit(published, who, `Import the staged file of image ${id} (glance-direct)`);
      return published;
    });
    if (isQuarantined(r)) throw quarantined(r);
    this.o.scans?.uploaded(r);
    return r;
  }

  private async run(id: string, body: Readable, options: UploadOptions & { signal: AbortSignal }, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const { ledger } = this.o;
    ledger.find(id, who, 'commit');
    const algorithm = options.algorithm ?? this.o.checksum;
    if (algorithm !== 'sha256' && algorithm !== 'sha512') throw invalidField('algorithm', 'enum', 'sha256 or sha512');
    if (options.checksum !== undefined && !CHECKSUM_PATTERN.test(options.checksum)) {
      throw invalidField('checksum', 'pattern', 'sha256:<64 hex digits> or sha512:<128 hex digits>');
    }
    if (options.checksum !== undefined && !options.checksum.startsWith(`${algorithm}:`)) {
      throw invalidField('checksum', 'algorithm', `a ${algorithm} digest, the algorithm of this upload`);
    }
    if (options.length !== undefined && options.length > this.o.maxUploadBytes) {
      throw tooLarge(`upload of ${options.length} bytes exceeds the limit of ${this.o.maxUploadBytes} bytes`);
    }
    const store = await ledger.claimFile(id, who, 'commit', async (current) => {
      if (current.status !== 'locked' && current.status !== 'error') {
        throw conflict(`image ${id} is ${current.status}; a file can be uploaded only while it is locked or error`);
      }
      const storeName = current.store ?? this.o.defaultStore;
      const target = this.o.stores.get(storeName);
      if (!target) throw conflict(`image ${id} names store ${storeName}, which this daemon does not have`);
      const now = new Date().toISOString();
      const { import_state: _earlier, ...rest } = current;
      const marked = options.importMethod !== undefined ? { import_state: { method: options.importMethod, state: options.stage ? ('staging' as const) : ('importing' as const), at: now, by: who.name } } : {};
      await ledger.commit({ ...rest, ...marked, status: 'uploading', updated_at: now }, who, `Start ${options.stage ? 'staging' : options.importMethod !== undefined ? `${options.importMethod} import` : 'upload'} of image ${id}`);
      return target;
    });
    let published = false;
    try {
      options.signal.throwIfAborted();
      const write = await store.write(id, { signal: options.signal, ...(options.length !== undefined ? { expectedSize: options.length } : {}) });
      const scan = this.o.scans?.forUpload();
      try {
        const cancel = () => body.destroy(options.signal.reason instanceof UploadStopped ? options.signal.reason : new Error('upload cancelled'));
        if (options.signal.aborted) cancel();
        else options.signal.addEventListener('abort', cancel, { once: true });
        // The store's failure is the store's, whatever its error says (a reset is not the client's cut).
        const inspection = new FormatInspection();
        const observe = (chunk: Buffer) => {
          inspection.push(chunk);
          // A file its headers already refuse is refused now, not after all its bytes are stored.
          const early = inspection.settledEarly();
          if (early) verdictOn(early, ledger.current(id)?.disk, this.o.inspection);
          return scan?.push(chunk, id);
        };
        const meter = await hashedCopy(body, write.stream, algorithm, this.o.maxUploadBytes, { signal: options.signal, blame: { sink: (e) => storeFailureOf(store, `upload of ${id}`, e) }, keepSource: true, observe, ...(options.clientDigests === true ? { alsoDigest: CLIENT_DIGESTS } : {}) });
        const checksum = meter.checksum;
        if (options.length !== undefined && meter.bytes !== options.length) {
          throw invalidField('Content-Length', 'length', `${options.length} bytes`, `upload ended after ${meter.bytes} of ${options.length} bytes`);
        }
        if (options.checksum !== undefined && options.checksum !== checksum) {
          throw invalidField('checksum', 'match', options.checksum, `checksum mismatch: received ${checksum}, expected ${options.checksum}`);
        }
        // Refused before anything is published: the write is aborted below.
        const found = verdictOn(inspection.finish(), ledger.current(id)?.disk, this.o.inspection);
        // Blocking mode: no verdict (clamd down, the file over its limit) refuses the file here.
        const scanned = await scan?.verdict(id);
        await write.commit();
        published = true;
        const now = new Date().toISOString();
        return await ledger.change(
          id,
          who,
          // A scan (or digests) of an earlier file says nothing of this one.
          ({ scan: _earlier, digests: _before, import_state: mark, ...r }) => ({ ...r, ...(options.stage && mark ? { import_state: { ...mark, state: 'staged' as const, at: now } } : {}), status: options.stage ? 'locked' : 'available', size: meter.bytes, checksum, ...(Object.keys(meter.digests).length > 0 ? { digests: meter.digests } : {}), virtual_size: found.virtual_size, inspection: found, ...(scanned ? { scan: scanned } : {}), uploaded_at: now, updated_at: now, locations: [{ store: store.name, key: id }] }),
          `${options.stage ? 'Stage' : 'Upload'} image ${id}: ${meter.bytes} bytes, ${checksum}, ${found.format} of virtual size ${found.virtual_size}${scanned ? `; scan: ${scanned.signature ? `${scanned.signature} found, quarantined` : scanned.verdict}` : ''}`,
        );
      } catch (e) {
        scan?.abort();
        await write.abort();
        throw e;
      }
    } catch (thrown) {
      // Whatever broke first as the stop cut in (the body, the store), the cause is the stop.
      const error = this.stopping.signal.aborted ? this.stopping.signal.reason : thrown;
      // The details (the store's endpoint, paths, codes) go to the daemon's log only; the record and
      // the public history get a reason a user can act on.
      this.o.onError?.(id, error);
      const reason = failureReason(error, store.name);
      // An object published before its record failed must not stay: after a failure nothing is visible.
      if (published) await store.delete(id).catch((e: unknown) => this.o.onError?.(id, e));
      // Marking a failure is recovery, never refused by a rule: the image must not stay uploading.
      await ledger
        .locked(id, async () => {
          const current = ledger.current(id);
          if (current === undefined) return;
          const now = new Date().toISOString();
          // A failed import leaves its mark (Glance shows the image queued again, the reason kept); a failed plain upload none.
          const { import_state: mark, ...rest } = current;
          const failed = mark !== undefined && options.importMethod !== undefined ? { import_state: { ...mark, state: 'failed' as const, at: now, reason: reason.slice(0, 1000) } } : {};
          await ledger.commit({ ...rest, ...failed, status: 'error', updated_at: now }, who, `Upload of image ${id} failed: ${reason}`);
        })
        .catch(() => undefined);
      // The caller gets the store's failure as the store error says it (its status or code, what to
      // check; never a credential, an endpoint or a raw message): the record only the reason.
      if (error instanceof VisorError) throw error;
      throw isClientCutOff(error) ? invalid(`upload failed: ${reason}`) : unavailable(`upload of image ${id} failed: ${reason}`, error);
    } finally {
      ledger.releaseFile(id);
    }
  }
}

/** Why an upload in flight failed when the daemon stopped. */
class UploadStopped extends VisorError {
  constructor() {
    super('unavailable', 'the daemon stopped before the upload was complete: upload again once it is back');
  }
}

function isClientCutOff(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.code === 'ABORT_ERR' || e.message === 'aborted';
}

/**
 * Why the upload failed, in words fit for the record and the public history: the core's own refusals
 * as they are, a store's failure (whose text may name endpoints, paths, hosts) by the store's name.
 */
function failureReason(error: unknown, store: string): string {
  if (error instanceof StoreFailure) return `the store ${error.store} failed during the upload`;
  if (error instanceof VisorError) return error.message;
  if (isClientCutOff(error)) return 'the client cut the upload off';
  return `the store ${store} failed during the upload`;
}

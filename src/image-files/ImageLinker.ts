import type { ImageInspection, ImageRecord } from '../api/ImageRecord.ts';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { conflict, forbidden, invalidField, notFound, type FieldProblem, invalid } from '../errors/VisorError.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import { FormatInspection } from '../inspection/FormatInspection.ts';
import { verdictOn, type InspectionPolicy } from '../inspection/InspectionVerdict.ts';
import { algorithmOf, CHECKSUM_PATTERN, digestOf } from './HashedCopy.ts';
import type { ImageScans } from '../scanning/ImageScans.ts';
import { isQuarantined, quarantined } from '../scanning/Quarantine.ts';

export interface LinkRequest {
  /** A store instance and a key in it… */
  store?: string;
  key?: string;
  /** …or a URL under the base of a configured http store. */
  url?: string;
  /** Expected digest, checked as the object is read. */
  checksum?: string;
}

/**
 * Registers a file that is already in a store as an image's file (or as one more location of it):
 * an image by URL through an http store above all. The object is read once, end to end, for its
 * size and digest and its format inspection: the catalogue never records a digest VISOR has not
 * seen, nor a file the inspection refused (the image is then marked error).
 */
export class ImageLinker {
  private readonly ledger: ImageLedger;
  private readonly stores: ReadonlyMap<string, ImageStore>;
  private readonly defaultAlgorithm: DigestAlgorithm;
  private readonly inspection: InspectionPolicy;
  private readonly scans: ImageScans | undefined;

  constructor(options: { ledger: ImageLedger; stores: ReadonlyMap<string, ImageStore>; checksum: DigestAlgorithm; inspection: InspectionPolicy; scans?: ImageScans }) {
    this.ledger = options.ledger;
    this.scans = options.scans;
    this.stores = options.stores;
    this.defaultAlgorithm = options.checksum;
    this.inspection = options.inspection;
  }

  private resolve(request: LinkRequest): { store: ImageStore; key: string } {
    const problems: FieldProblem[] = [];
    if (request.url !== undefined) {
      if (typeof request.url !== 'string') throw invalidField('url', 'type', 'a URL');
      for (const store of this.stores.values()) {
        // Stores whose objects have URLs (http) say which key a URL is.
        const key = store.keyOf?.(request.url);
        if (key) return { store, key };
      }
      throw invalidField('url', 'exists', 'a URL under the base URL of a configured http store', `url: no configured http store serves ${request.url}`);
    }
    if (typeof request.store !== 'string' || !this.stores.has(request.store)) problems.push({ field: 'store', rule: 'exists', expected: `one of the configured stores: ${[...this.stores.keys()].join(', ')}`, message: 'store: a configured store (or url) is required' });
    if (typeof request.key !== 'string' || request.key === '') problems.push({ field: 'key', rule: 'required', expected: 'the object key in that store', message: 'key: required with store' });
    if (problems.length > 0) throw invalid(problems.map((p) => p.message).join('; '), problems);
    return { store: this.stores.get(request.store!)!, key: request.key! };
  }

  async link(id: string, request: LinkRequest, caller: Principal | undefined): Promise<ImageRecord> {
    // A file registered is scanned like an uploaded one: blocking mode in the read that digests it, async behind it.
    const r = await this.linkFile(id, request, caller);
    if (isQuarantined(r)) throw quarantined(r);
    this.scans?.uploaded(r);
    return r;
  }

  private async linkFile(id: string, request: LinkRequest, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    if (typeof request !== 'object' || request === null) throw invalidField('(body)', 'type', 'a JSON object with url, or store and key');
    if (request.checksum !== undefined && (typeof request.checksum !== 'string' || !CHECKSUM_PATTERN.test(request.checksum))) {
      throw invalidField('checksum', 'pattern', 'sha256:<64 hex digits> or sha512:<128 hex digits>');
    }
    const { store, key } = this.resolve(request);
    // A store VISOR writes to may hold anything else too (another application's objects in a shared
    // bucket, files an operator put there): taking in one that VISOR did not write for this image is
    // an operator's act. Decided on the caller's role and the request alone, before any lookup.
    if (store.writable && key !== id && !who.admin) {
      throw forbidden(`only admins may register an object of store ${store.name} that VISOR did not write for this image (whose key is the image's id): the store may hold anyone's data`);
    }
    return this.ledger.withFile(id, who, 'manage', async (current) => {
      if ((current.locations ?? []).some((l) => l.store === store.name && l.key === key)) return current;
      const available = current.status === 'available';
      if (!available && current.status !== 'locked' && current.status !== 'error') throw conflict(`image ${id} is ${current.status}`);
      const expected = available ? current.checksum! : request.checksum;
      if (available && request.checksum !== undefined && request.checksum !== expected) {
        throw invalidField('checksum', 'match', expected!, `checksum: image ${id} has ${expected}, not ${request.checksum}`);
      }
      // An object that is not this image's own (ImageLedger.ownsObject: another image's, by its
      // locations or its id) is never the caller's to register: it would let them read that image's
      // bytes, and replace or (deleting their own image) remove them. It is answered like a missing
      // object, so the answer says nothing of images the caller may not see.
      const missing = notFound(`object ${key} in store ${store.name}`);
      const taken = !this.ledger.ownsObject(id, store, key);
      // The store is asked either way: a refusal that skipped it would answer faster than a missing
      // object (a round trip on a remote store), and the difference would tell a taken key.
      const stat = await store.stat(key);
      if (taken || !stat) throw missing;
      const algorithm = expected ? algorithmOf(expected) : this.defaultAlgorithm;
      const inspection = new FormatInspection();
      const what = `object ${key} in store ${store.name}`;
      let refusedEarly = false;
      // A new file only: another location of an available image holds the same bytes (its digest is checked).
      const scan = available ? undefined : this.scans?.forUpload();
      const observe = (chunk: Buffer) => {
        inspection.push(chunk);
        // A file its headers already refuse is refused now: the rest is not read.
        const early = inspection.settledEarly();
        if (early) {
          refusedEarly = true;
          verdictOn(early, current.disk, this.inspection);
          refusedEarly = false;
        }
        return scan?.push(chunk, id);
      };
      const seen = await digestOf(await store.read(key), algorithm, Number.MAX_SAFE_INTEGER, { observe }).catch(async (e: unknown) => {
        scan?.abort();
        if (refusedEarly) await this.refused(current, e, what, who);
        throw e;
      });
      if (expected !== undefined && seen.checksum !== expected) {
        scan?.abort();
        throw invalidField('checksum', 'match', expected, `checksum mismatch: object ${key} in store ${store.name} has ${seen.checksum}, expected ${expected}`);
      }
      if (available && seen.bytes !== current.size) throw conflict(`object ${key} in store ${store.name} has ${seen.bytes} bytes; image ${id} has ${current.size}`);
      const found = await this.judge(current, inspection, what, who).catch((e: unknown) => {
        scan?.abort();
        throw e;
      });
      // No verdict (clamd down, the file over its limits) registers nothing: the image stays as it was.
      const scanned = await scan?.verdict(id);
      const now = new Date().toISOString();
      const location = { store: store.name, key };
      return this.ledger.change(
        id,
        who,
        (r) =>
          available
            ? { ...r, locations: [...(r.locations ?? []), location], updated_at: now, ...(r.inspection ? {} : { virtual_size: found.virtual_size, inspection: found }) }
            : // Digests of an earlier file (Glance's md5 and sha512) say nothing of this one.
              { ...withoutDigests(r), status: 'available', store: store.name, size: seen.bytes, checksum: seen.checksum, virtual_size: found.virtual_size, inspection: found, ...(scanned ? { scan: scanned } : {}), uploaded_at: now, updated_at: now, locations: [location] },
        available ? `Add location of image ${id} in store ${store.name}` : `Register image ${id} from store ${store.name}: ${seen.bytes} bytes, ${seen.checksum}`,
      );
    });
  }

  /** The inspection's verdict on the whole object: a refused object is never registered. */
  private async judge(current: ImageRecord, inspection: FormatInspection, what: string, who: Principal): Promise<ImageInspection> {
    try {
      return verdictOn(inspection.finish(), current.disk, this.inspection);
    } catch (e) {
      await this.refused(current, e, what, who);
      throw e;
    }
  }

  /** An image that had no file yet ends in error when its object is refused, the reason in its history (like a refused upload). */
  private async refused(current: ImageRecord, error: unknown, what: string, who: Principal): Promise<void> {
    if (current.status === 'available') return;
    // Marking a failure is recovery, never refused by a rule (like a failed upload's).
    await this.ledger
      .locked(current.id, async () => {
        const now = this.ledger.current(current.id);
        if (now) await this.ledger.commit({ ...now, status: 'error', updated_at: new Date().toISOString() }, who, `Registering image ${current.id} from ${what} refused: ${(error as Error).message}`);
      })
      .catch(() => undefined);
  }
}

function withoutDigests(r: ImageRecord): ImageRecord {
  const { digests: _earlier, ...rest } = r;
  return rest;
}

import type { ImageSchema } from '../catalog/ImageSchema.ts';
import type { CatalogIndex } from '../catalog/CatalogIndex.ts';
import type { CatalogRepositories } from '../catalog/CatalogRepositories.ts';
import type { CommitAuthor } from '../catalog/CatalogWriter.ts';
import type { ImageLocation, ImageRecord } from '../api/ImageRecord.ts';
import { assertImageId, ID_PATTERN } from '../catalog/CatalogLayout.ts';
import { imageIds, recordProblems } from '../catalog/CatalogRules.ts';
import type { AccessSubject, ImageAccess } from '../access/ImageAccess.ts';
import type { InstanceIdentity } from '../federation/InstanceIdentity.ts';
import type { AccessLevel } from '../access/Permission.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, invalid, notFound } from '../errors/VisorError.ts';
import { KeyedLock } from './KeyedLock.ts';

export type AccessNeed = Exclude<AccessLevel, 'none'>;

export interface ImageLedgerOptions {
  schema: ImageSchema;
  index: CatalogIndex;
  catalogs: CatalogRepositories;
  access: ImageAccess;
  /** Which records are this instance's own (the others' locations name their instance's stores). */
  identity: Pick<InstanceIdentity, 'isHome'>;
  /** The configured stores: a record may name only these. */
  storeNames: readonly string[];
}

/** The daemon's own commits are signed by the account that asked for them. */
function authorOf(who: Principal): CommitAuthor {
  return { name: who.name, email: `${who.name}@visor.invalid` };
}

/**
 * The per-image ledger every change of an image goes through: find the image as the caller may
 * see it, lock it, check the record against the schema and the catalogue's rules, commit it (acknowledged
 * only once git made it durable) and only then put it in the index. Metadata changes, uploads,
 * copies and links all use it, so none of them can skip a rule.
 */
export class ImageLedger {
  private readonly o: ImageLedgerOptions;
  private readonly lock = new KeyedLock();
  /** Images whose file is being written, copied or registered right now. */
  private readonly working = new Set<string>();

  constructor(options: ImageLedgerOptions) {
    this.o = options;
  }

  get size(): number {
    return this.o.index.size;
  }

  all(): IterableIterator<ImageRecord> {
    return this.o.index.all();
  }

  /** Grows whenever what anyone may see may have changed: a record put or deleted, a grant, a hidden image, a trust judgement dropped. */
  get version(): number {
    return this.o.index.version + this.o.access.version;
  }

  /** Whether the caller may see (check out) the image; every read path filters with this. */
  canSee(who: Principal | undefined, r: AccessSubject): boolean {
    return this.o.access.canSee(who, r);
  }

  /**
   * The image, if the caller may act on it at `needed`: one they may not even see is reported exactly
   * like a missing one (404), one they see but may not change is 403.
   */
  find(id: string, who: Principal | undefined, needed: AccessNeed = 'checkout'): ImageRecord {
    assertImageId(id);
    const r = this.o.index.get(id);
    if (!r) throw notFound(`image ${id}`);
    this.o.access.assert(who, r, needed);
    return r;
  }

  /** The image, if the caller may download its file: seen, and offered by the site's trust policy (403 naming its rules otherwise). */
  findDownloadable(id: string, who: Principal | undefined): ImageRecord {
    const r = this.find(id, who);
    this.o.access.assertDownload(who, r);
    return r;
  }

  /** Whether the caller may download the image's file (a series' latest must be one they may). */
  canDownload(who: Principal | undefined, r: AccessSubject): boolean {
    return this.o.access.canDownload(who, r);
  }

  /** The image as it is now, without an access check: for work already admitted. */
  current(id: string): ImageRecord | undefined {
    return this.o.index.get(id);
  }

  /** Images whose locations name this object (other than `except`). */
  namersOf(store: string, key: string, except?: string): ImageRecord[] {
    return this.o.index.namersOf(store, key, except);
  }

  /**
   * Whether the object may be this image's, to register, read or copy. In a store VISOR writes to, an
   * object another image names, or one written under another image's id, never is: whatever a record
   * says (a synced one, or one edited by hand), it would hand that image's bytes to whoever may read
   * this one. Its own id is always its own (VISOR writes an image's file under its id). A key whose
   * last segment is another image's id is not either, in any store: a web server over a store's
   * folder serves VISOR's objects as `<shard>/<id>`, and no configuration says so. Other objects of
   * read-only stores (http) are anyone's who can reach the URL.
   */
  ownsObject(id: string, store: { name: string; writable: boolean }, key: string): boolean {
    if (key === id) return true;
    // Lower-cased: on a case-insensitive file system or web server, an upper-case id is the same object.
    const last = key.slice(key.lastIndexOf('/') + 1).toLowerCase();
    if (ID_PATTERN.test(last) && last !== id) return false;
    return !store.writable || this.namersOf(store.name, key, id).length === 0;
  }

  /**
   * The image's locations whose objects are its own (ownsObject), in stores this daemon has. Another
   * instance's image has none here: its locations name that instance's stores, and an object under the
   * same name in a store of this one was not written for it (a followed image's own copy is kept
   * apart, src/sync/FollowedFiles.ts).
   */
  ownLocations(r: ImageRecord, writable: (store: string) => boolean | undefined): ImageLocation[] {
    if (!this.o.identity.isHome(r)) return [];
    return (r.locations ?? []).filter((l) => {
      const w = writable(l.store);
      return w !== undefined && this.ownsObject(r.id, { name: l.store, writable: w }, l.key);
    });
  }

  /** Ids of images the caller can see, and only a count of the others: an answer must not reveal them. */
  describe(images: Iterable<ImageRecord>, who: Principal): string[] {
    const list = [...images];
    const seen = list.filter((r) => this.canSee(who, r)).map((r) => r.id);
    const hidden = list.length - seen.length;
    return [...imageIds(seen), ...(hidden > 0 ? [`${hidden} image(s) you cannot see`] : [])];
  }

  /** Runs `work` alone for this image: a check and its commit never interleave with another change. */
  locked<T>(id: string, work: () => Promise<T>): Promise<T> {
    return this.lock.run(id, work);
  }

  /**
   * Schema and cross-record rules. A new kernel or ramdisk reference must name an image the caller
   * can see: one they cannot see is reported as missing, so references cannot probe for private ids.
   */
  check(record: ImageRecord, who: Principal, current: ImageRecord | undefined): void {
    this.o.schema.assertValid(record, 'image');
    const problems = recordProblems(record, {
      record: (rid) => {
        const target = this.o.index.get(rid);
        const kept = current !== undefined && (current.kernel === rid || current.ramdisk === rid);
        return target && (kept || this.canSee(who, target)) ? target : undefined;
      },
      // The owner's own images: the owner and admins see them all (ImageService.update lets only them rename in a series).
      namesakes: (series, owner, name, self) => this.describe(this.o.index.namesakes(series, owner, name).filter((r) => r.id !== self), who),
    }, current);
    if (record.store !== undefined && !this.o.storeNames.includes(record.store)) {
      problems.push({ field: 'store', rule: 'exists', expected: `one of the configured stores: ${this.o.storeNames.join(', ')}`, message: `store: no store named ${record.store}` });
    }
    if (problems.length > 0) throw invalid(`image is invalid: ${problems.map((p) => p.message).join('; ')}`, problems);
  }

  /** Commits the record (checked by the caller) and puts it in the index. */
  async commit(record: ImageRecord, who: Principal, message: string): Promise<void> {
    await this.o.catalogs.save(record, this.o.index.get(record.id), authorOf(who), message);
    this.o.index.put(record);
  }

  /** Removes the record from its catalogue (a commit) and from the index. */
  async erase(record: ImageRecord, who: Principal, message: string): Promise<void> {
    if (this.working.has(record.id)) throw conflict(`image ${record.id} is being uploaded or copied`);
    await this.o.catalogs.remove(record, authorOf(who), message);
    this.o.index.delete(record.id);
  }

  /** Replaces an image's record under its lock as one checked commit. */
  async change(id: string, who: Principal, change: (current: ImageRecord) => ImageRecord, message: string): Promise<ImageRecord> {
    return this.lock.run(id, async () => {
      const current = this.o.index.get(id);
      if (!current) throw notFound(`image ${id}`);
      const record = change(current);
      this.check(record, who, current);
      await this.commit(record, who, message);
      return record;
    });
  }

  /**
   * Begins work on an image's file (an upload, a copy, registering an object): under the image's
   * lock, checks the caller may act at `needed` and that no other file work runs, then lets `admit`
   * refuse or take a first step. Until releaseFile(), deletes and other file work are refused (409)
   * and store gc leaves the image's leftovers alone.
   */
  async claimFile<T>(id: string, who: Principal, needed: AccessNeed, admit: (current: ImageRecord) => Promise<T>): Promise<T> {
    return this.lock.run(id, async () => {
      const current = this.find(id, who, needed);
      if (this.working.has(id) || current.status === 'uploading') throw conflict(`image ${id} is being uploaded or copied; try again when that is done`);
      this.working.add(id);
      try {
        return await admit(current);
      } catch (e) {
        this.working.delete(id);
        throw e;
      }
    });
  }

  releaseFile(id: string): void {
    this.working.delete(id);
  }

  /** claimFile, `work`, releaseFile. */
  async withFile<T>(id: string, who: Principal, needed: AccessNeed, work: (current: ImageRecord) => Promise<T>): Promise<T> {
    const current = await this.claimFile(id, who, needed, async (r) => r);
    try {
      return await work(current);
    } finally {
      this.releaseFile(id);
    }
  }

  /** Keys of images whose file is being written or copied right now: gc must leave their leftovers. */
  get busy(): ReadonlySet<string> {
    return this.working;
  }

  /** Images left in uploading by a crash can never finish: mark them error so they can be retried. */
  async recoverInterruptedUploads(): Promise<string[]> {
    const stuck = [...this.o.index.all()].filter((r) => r.status === 'uploading');
    for (const r of stuck) {
      const record = { ...r, status: 'error', updated_at: new Date().toISOString() } as ImageRecord;
      await this.commit(record, { name: 'visor', admin: true }, `Mark interrupted upload of image ${r.id} as error`);
    }
    return stuck.map((r) => r.id);
  }
}

import { randomUUID, createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { ImageSchema } from '../catalog/ImageSchema.ts';
import type { CatalogIndex } from '../catalog/CatalogIndex.ts';
import type { CommitAuthor } from '../catalog/CatalogWriter.ts';
import type { CatalogRepositories } from '../catalog/CatalogRepositories.ts';
import { imageHistory, type HistoryEntry } from '../catalog/ImageHistory.ts';
import type { ImageQuery } from '../catalog/ImageQuery.ts';
import { BRIEF_FIELDS, type ImageBrief, type ImageInput, type ImageRecord, type ImageView } from '../catalog/ImageRecord.ts';
import { assertImageId } from '../catalog/CatalogLayout.ts';
import { serializeRecord } from '../catalog/RecordFile.ts';
import { referenceProblems, referrers } from '../catalog/CatalogRules.ts';
import type { ByteRange, ImageStore, PositionalReader } from '../store/ImageStore.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';
import type { Principal } from '../auth/Principal.ts';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { hashedCopy } from './UploadHasher.ts';
import { KeyedLock } from './KeyedLock.ts';
import { StoreFailover } from './StoreFailover.ts';
import { conflict, denied, invalid, invalidField, notFound, preconditionFailed, tooLarge, unavailable, VisorError, type FieldProblem } from '../errors/VisorError.ts';
import type { ImageAccess } from '../access/ImageAccess.ts';
import type { GrantStore } from '../access/GrantStore.ts';
import type { Grantee, ImageGrantsView, Permission } from '../access/Permission.ts';

export interface ImageServiceOptions {
  schema: ImageSchema;
  index: CatalogIndex;
  catalogs: CatalogRepositories;
  stores: ReadonlyMap<string, ImageStore>;
  defaultStore: string;
  stats: AccessStats;
  /** Every access decision (src/access/ImageAccess.ts); grants are kept outside the catalogue. */
  access: ImageAccess;
  grants: GrantStore;
  /** Whether a grant names an existing user or group of this instance. */
  accounts: { hasUser(name: string): boolean; hasGroup(name: string): boolean };
  maxUploadBytes: number;
  checksum: DigestAlgorithm;
  /** Base of image uris, e.g. http://127.0.0.1:4568. */
  publicUrl: string;
  onUploadError?: (id: string, error: unknown) => void;
}

export interface UploadOptions {
  algorithm?: string;
  /** Expected digest "<alg>:<hex>"; a mismatch fails the upload. */
  checksum?: string;
  /** Declared length (Content-Length) when known: rejected up front when over the limit. */
  length?: number;
  signal?: AbortSignal;
}

export interface Download {
  image: ImageView;
  size: number;
  range?: ByteRange;
  open(signal?: AbortSignal): Promise<Readable>;
  /** Present when the store reads at offsets: the sender can then reuse its own buffers. */
  openPositional?: () => Promise<PositionalReader>;
}

export interface ListResult<T> {
  images: T[];
  nextMarker?: string;
}

const CHECKSUM = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

function authorOf(who: Principal): CommitAuthor {
  return { name: who.name, email: `${who.name}@visor.invalid` };
}

/**
 * The image catalogue's operations: what the REST routes, the CLI's server side and tests call.
 * Reads come from the in-memory index; every change is a commit acknowledged only once git made it
 * durable, and only then enters the index.
 */
export class ImageService {
  private readonly o: ImageServiceOptions;
  private readonly lock = new KeyedLock();
  private readonly uploading = new Set<string>();
  /** Which of an image's locations a download reads from. */
  readonly failover: StoreFailover;
  private base: string;

  constructor(options: ImageServiceOptions) {
    this.o = options;
    this.base = options.publicUrl;
    this.failover = new StoreFailover(options.stores);
  }

  /** Whether the caller may see (check out) the image; every read path filters with this. */
  canSee(who: Principal | undefined, r: ImageRecord): boolean {
    return this.o.access.canSee(who, r);
  }

  /** The image, if the caller may act on it at `needed` (404 when they may not even see it, else 403). */
  private findFor(id: string, who: Principal, needed: 'commit' | 'manage'): ImageRecord {
    assertImageId(id);
    const r = this.o.index.get(id);
    if (!r) throw notFound(`image ${id}`);
    this.o.access.assert(who, r, needed);
    return r;
  }

  /** Ids of images the caller can see, and only a count of the others: a conflict must not reveal them. */
  private describeImages(images: ImageRecord[], who: Principal): string {
    const seen = images.filter((r) => this.canSee(who, r)).map((r) => r.id);
    const hidden = images.length - seen.length;
    return [...seen, ...(hidden > 0 ? [`${hidden} image(s) you cannot see`] : [])].join(', ');
  }

  private find(id: string, who: Principal | undefined): ImageRecord {
    assertImageId(id);
    const r = this.o.index.get(id);
    if (!r) throw notFound(`image ${id}`);
    // An image the caller may not see is reported exactly like a missing one.
    this.o.access.assert(who, r, 'checkout');
    return r;
  }

  view(r: ImageRecord): ImageView {
    const stats = this.o.stats.get(r.id);
    return { ...r, uri: this.uriOf(r), access_count: stats?.count ?? 0, ...(stats ? { accessed_at: stats.last } : {}) };
  }

  /** Where this instance serves the record. */
  private uriOf(r: ImageRecord): string {
    return `${this.base}/images/${r.id}`;
  }

  /** JSON.stringify(view(r)), built from the record's text (cached per version) and its live counters. */
  viewJson(r: ImageRecord): string {
    let text = this.viewTexts.get(r);
    if (text === undefined) {
      // uri, access_count and accessed_at are never stored, so they follow the record's own fields.
      text = JSON.stringify({ ...r, uri: this.uriOf(r) }).slice(0, -1);
      this.viewTexts.set(r, text);
    }
    const stats = this.o.stats.get(r.id);
    return `${text},"access_count":${stats?.count ?? 0}${stats ? `,"accessed_at":${JSON.stringify(stats.last)}` : ''}}`;
  }

  // Records are never changed in place (a change replaces the object), so what is derived from one
  // record alone is computed once per version: the brief view and the ETag were ~40% of a read.
  private readonly etags = new WeakMap<ImageRecord, string>();
  // These hold the uri, so they are dropped when the base changes.
  private briefs = new WeakMap<ImageRecord, ImageBrief>();
  private briefTexts = new WeakMap<ImageRecord, string>();
  private viewTexts = new WeakMap<ImageRecord, string>();

  /** Base of image uris; the server sets it once it knows the port it listens on. */
  get publicUrl(): string {
    return this.base;
  }

  set publicUrl(url: string) {
    if (url === this.base) return;
    this.base = url;
    this.briefs = new WeakMap();
    this.briefTexts = new WeakMap();
    this.viewTexts = new WeakMap();
  }

  briefJson(r: ImageRecord): string {
    let text = this.briefTexts.get(r);
    if (text === undefined) {
      text = JSON.stringify(this.brief(r));
      this.briefTexts.set(r, text);
    }
    return text;
  }

  brief(r: ImageRecord): ImageBrief {
    let brief = this.briefs.get(r);
    if (!brief) {
      const v = { ...r, uri: this.uriOf(r) } as unknown as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const f of BRIEF_FIELDS) if (v[f] !== undefined) out[f] = v[f];
      brief = out as unknown as ImageBrief;
      this.briefs.set(r, brief);
    }
    return brief;
  }

  /** Strong validator of a record's stored content, for ETag and If-Match. */
  etag(r: ImageRecord): string {
    let tag = this.etags.get(r);
    if (!tag) {
      tag = `"${createHash('sha256').update(serializeRecord(r, this.o.schema)).digest('base64url').slice(0, 27)}"`;
      this.etags.set(r, tag);
    }
    return tag;
  }

  get size(): number {
    return this.o.index.size;
  }

  list(query: ImageQuery, who: Principal | undefined): ListResult<ImageRecord> {
    const page = this.o.index.query(query, (r) => this.canSee(who, r));
    return { images: page.items, ...(page.nextMarker ? { nextMarker: page.nextMarker } : {}) };
  }

  get(id: string, who: Principal | undefined): ImageRecord {
    return this.find(id, who);
  }

  latest(series: string, who: Principal | undefined): ImageRecord {
    const r = this.o.index.latestOfSeries(series, (x) => this.canSee(who, x));
    if (r) return r;
    const hidden = this.o.index.latestOfSeries(series, () => true) !== undefined;
    const missing = notFound(`available image in series ${series}`);
    throw hidden ? denied(missing, `${who?.name ?? 'anonymous'} may see no available image of series ${series}`) : missing;
  }

  /** Each change of a visible image, newest first, from the Git history of the catalogues. */
  async history(id: string, caller: Principal | undefined): Promise<HistoryEntry[]> {
    const r = this.find(id, caller);
    return imageHistory([this.o.catalogs.shared, this.o.catalogs.private], r.id);
  }

  async create(body: unknown, caller: Principal | undefined): Promise<ImageRecord> {
    const who = this.o.access.assertAuthenticated(caller);
    const input = this.readInput(body, undefined);
    const now = new Date().toISOString();
    const record = {
      access: 'private',
      store: this.o.defaultStore,
      ...input,
      id: randomUUID(),
      status: 'locked',
      owner: who.name,
      created_at: now,
      updated_at: now,
    } as ImageRecord;
    this.check(record, who, undefined);
    await this.commit(record, who, `Register image ${record.id} "${record.name}"`);
    return record;
  }

  async update(id: string, body: unknown, caller: Principal | undefined, ifMatch?: string): Promise<ImageRecord> {
    // Authentication comes first: an anonymous write is a 401 whether or not the image is visible.
    const who = this.o.access.assertAuthenticated(caller);
    this.findFor(id, who, 'commit');
    return this.lock.run(id, async () => {
      const current = this.findFor(id, who, 'commit');
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== this.etag(current)) {
        throw preconditionFailed(`image ${id} changed since ${ifMatch} (now ${this.etag(current)})`);
      }
      const input = this.readInput(body, current);
      const next = { ...current } as Record<string, unknown>;
      const changed: string[] = [];
      for (const [field, value] of Object.entries(input)) {
        if (isDeepStrictEqual(next[field], value ?? undefined)) continue;
        changed.push(field);
        if (value === null) delete next[field];
        else next[field] = value;
      }
      if (changed.length === 0) return current;
      // Publishing or unpublishing is the owner's decision, not a commit grantee's.
      if (changed.includes('access')) this.o.access.assert(who, current, 'manage');
      if (changed.includes('store') && current.locations?.length) {
        throw conflict(`image ${id} already has its file in store ${current.locations[0]!.store}; its store cannot change`);
      }
      if (changed.includes('type') && current.type !== next['type']) {
        const users = referrers(id, this.o.index.all());
        if (users.length > 0) throw conflict(`image ${id} is the ${current.type} of ${this.describeImages(users, who)}; its type cannot change`);
      }
      next['updated_at'] = new Date().toISOString();
      const record = next as unknown as ImageRecord;
      this.check(record, who, current);
      await this.commit(record, who, `Update image ${id}: ${changed.join(', ')}`);
      return record;
    });
  }

  async remove(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    const who = this.o.access.assertAuthenticated(caller);
    this.findFor(id, who, 'manage');
    return this.lock.run(id, async () => {
      const current = this.findFor(id, who, 'manage');
      if (this.uploading.has(id)) throw conflict(`image ${id} is being uploaded or copied`);
      const users = referrers(id, this.o.index.all());
      if (users.length > 0) throw conflict(`image ${id} is the ${current.type} of ${this.describeImages(users, who)}; delete or change those first`);
      await this.o.catalogs.remove(current, authorOf(who), `Delete image ${id} "${current.name}"`);
      this.o.index.delete(id);
      this.o.stats.forget(id);
      await this.o.grants.forgetImage(id).catch((e: unknown) => this.o.onUploadError?.(id, e));
      for (const loc of current.locations ?? []) {
        // The record is gone either way; a file the store failed to delete is found by store gc.
        await this.o.stores.get(loc.store)?.delete(loc.key).catch((e: unknown) => this.o.onUploadError?.(id, e));
      }
      return current;
    });
  }

  async upload(id: string, body: Readable, options: UploadOptions, caller: Principal | undefined): Promise<ImageRecord> {
    const who = this.o.access.assertAuthenticated(caller);
    this.findFor(id, who, 'commit');
    const algorithm = options.algorithm ?? this.o.checksum;
    if (algorithm !== 'sha256' && algorithm !== 'sha512') throw invalidField('algorithm', 'enum', 'sha256 or sha512');
    if (options.checksum !== undefined && !CHECKSUM.test(options.checksum)) {
      throw invalidField('checksum', 'pattern', 'sha256:<64 hex digits> or sha512:<128 hex digits>');
    }
    if (options.checksum !== undefined && !options.checksum.startsWith(`${algorithm}:`)) {
      throw invalidField('checksum', 'algorithm', `a ${algorithm} digest, the algorithm of this upload`);
    }
    if (options.length !== undefined && options.length > this.o.maxUploadBytes) {
      throw tooLarge(`upload of ${options.length} bytes exceeds the limit of ${this.o.maxUploadBytes} bytes`);
    }
    const claimed = await this.lock.run(id, async () => {
      const current = this.findFor(id, who, 'commit');
      if (this.uploading.has(id) || (current.status !== 'locked' && current.status !== 'error')) {
        throw conflict(`image ${id} is ${this.uploading.has(id) ? 'uploading' : current.status}; a file can be uploaded only while it is locked or error`);
      }
      const storeName = current.store ?? this.o.defaultStore;
      const store = this.o.stores.get(storeName);
      if (!store) throw conflict(`image ${id} names store ${storeName}, which this daemon does not have`);
      this.uploading.add(id);
      try {
        const record = { ...current, status: 'uploading', updated_at: new Date().toISOString() } as ImageRecord;
        await this.commit(record, who, `Start upload of image ${id}`);
        return { store, record };
      } catch (e) {
        this.uploading.delete(id);
        throw e;
      }
    });
    const { store } = claimed;
    try {
      const write = await store.write(id, { ...(options.signal ? { signal: options.signal } : {}), ...(options.length !== undefined ? { expectedSize: options.length } : {}) });
      try {
        options.signal?.addEventListener('abort', () => body.destroy(new Error('upload cancelled')), { once: true });
        const meter = await hashedCopy(body, write.stream, algorithm, this.o.maxUploadBytes);
        const checksum = meter.checksum;
        if (options.length !== undefined && meter.bytes !== options.length) {
          throw invalidField('Content-Length', 'length', `${options.length} bytes`, `upload ended after ${meter.bytes} of ${options.length} bytes`);
        }
        if (options.checksum !== undefined && options.checksum !== checksum) {
          throw invalidField('checksum', 'match', options.checksum, `checksum mismatch: received ${checksum}, expected ${options.checksum}`);
        }
        await write.commit();
        return await this.lock.run(id, async () => {
          const now = new Date().toISOString();
          const record: ImageRecord = { ...this.o.index.get(id)!, status: 'available', size: meter.bytes, checksum, uploaded_at: now, updated_at: now, locations: [{ store: store.name, key: id }] };
          await this.commit(record, who, `Upload image ${id}: ${meter.bytes} bytes, ${checksum}`);
          return record;
        });
      } catch (e) {
        await write.abort();
        throw e;
      }
    } catch (error) {
      this.o.onUploadError?.(id, error);
      await this.lock.run(id, async () => {
        const current = this.o.index.get(id);
        if (!current) return;
        const record = { ...current, status: 'error', updated_at: new Date().toISOString() } as ImageRecord;
        await this.commit(record, who, `Upload of image ${id} failed: ${describeFailure(error)}`).catch(() => undefined);
      });
      if (error instanceof VisorError) throw error;
      throw isClientCutOff(error) ? invalid(`upload failed: ${describeFailure(error)}`) : unavailable(`store ${store.name} failed: ${describeFailure(error)}`, error);
    } finally {
      this.uploading.delete(id);
    }
  }

  /**
   * Locates an image's file; `pickRange` turns its size into the byte range to send (the edge owns
   * Range header syntax). Nothing is opened until open(), so HEAD costs no file handle. Opening a
   * download from the first byte counts as an access.
   */
  prepareDownload(id: string, caller: Principal | undefined, pickRange: (size: number, checksum: string) => ByteRange | undefined): Download {
    const r = this.find(id, caller);
    if (r.status !== 'available' || r.size === undefined || r.checksum === undefined) throw conflict(`image ${id} is ${r.status}; its file can be downloaded once it is available`);
    // Downloads read from the first location that answers (StoreFailover), healthy stores first.
    const locations = this.failover.order(r.locations ?? []);
    const location = locations[0];
    if (!location) throw conflict(`image ${id} has no location in a store this daemon has`);
    const range = pickRange(r.size, r.checksum);
    const store = this.o.stores.get(location.store)!;
    return {
      image: this.view(r),
      size: r.size,
      ...(range ? { range } : {}),
      open: async (signal?: AbortSignal) => {
        const { stream } = await this.failover.open(locations, range, signal);
        if (!range || range.start === 0) this.o.stats.record(id);
        return stream;
      },
      ...(store.openPositional
        ? {
            openPositional: async () => {
              const reader = await store.openPositional!(location.key);
              if (!range || range.start === 0) this.o.stats.record(id);
              return reader;
            },
          }
        : {}),
    };
  }

  /** Number of images the caller may see (what /health reports: a private image is not counted for others). */
  countVisible(who: Principal | undefined): number {
    if (who?.admin) return this.o.index.size;
    let n = 0;
    for (const r of this.o.index.all()) if (this.canSee(who, r)) n++;
    return n;
  }

  /** The image's grants: its owner and admins may read them. */
  grantsOf(id: string, caller: Principal | undefined): ImageGrantsView {
    const r = this.findFor(id, this.o.access.assertAuthenticated(caller), 'manage');
    const g = this.o.grants.of(id) ?? { users: {}, groups: {} };
    return { image: id, owner: r.owner, access: r.access ?? 'private', users: { ...g.users }, groups: { ...g.groups } };
  }

  /**
   * Grants (permission given) or revokes (undefined) a permission to a user or group of this instance.
   * Only the owner and admins may; grants live in the instance's grant store, not in the record.
   */
  async setGrant(id: string, grantee: Grantee, permission: Permission | undefined, caller: Principal | undefined): Promise<ImageGrantsView> {
    const who = this.o.access.assertAuthenticated(caller);
    return this.lock.run(id, async () => {
      const r = this.findFor(id, who, 'manage');
      const field = grantee.kind;
      if (permission !== undefined) {
        const exists = grantee.kind === 'user' ? this.o.accounts.hasUser(grantee.name) : this.o.accounts.hasGroup(grantee.name);
        if (!exists) throw invalidField(field, 'exists', `an existing ${field} of this instance`, `${field}: no ${field} ${grantee.name}`);
        if (grantee.kind === 'user' && grantee.name === r.owner) throw invalidField(field, 'owner', 'someone other than the owner', `${field}: ${grantee.name} owns image ${id} and already has every permission`);
      } else if (this.o.grants.of(id)?.[grantee.kind === 'user' ? 'users' : 'groups'][grantee.name] === undefined) {
        throw notFound(`grant to ${field} ${grantee.name} on image ${id}`);
      }
      await this.o.grants.set(id, grantee, permission);
      return this.grantsOf(id, who);
    });
  }

  /**
   * Work on an image's file beside uploads (copy and move between stores, registering an object that
   * is already in a store): checks the caller may manage the image and keeps uploads and deletes of
   * it out (409) while `work` runs.
   */
  async withFileWork<T>(id: string, caller: Principal | undefined, work: (current: ImageRecord, who: Principal) => Promise<T>): Promise<T> {
    const who = this.o.access.assertAuthenticated(caller);
    const current = await this.lock.run(id, async () => {
      const r = this.findFor(id, who, 'manage');
      if (this.uploading.has(id) || r.status === 'uploading') throw conflict(`image ${id} is being uploaded or copied; try again when that is done`);
      this.uploading.add(id);
      return r;
    });
    try {
      return await work(current, who);
    } finally {
      this.uploading.delete(id);
    }
  }

  /** Replaces an image's record under its lock as one commit (for the file-work classes). */
  async changeRecord(id: string, who: Principal, change: (current: ImageRecord) => ImageRecord, message: string): Promise<ImageRecord> {
    return this.lock.run(id, async () => {
      const current = this.o.index.get(id);
      if (!current) throw notFound(`image ${id}`);
      const record = change(current);
      this.check(record, who, current);
      await this.commit(record, who, message);
      return record;
    });
  }

  /** Keys of images whose file is being written or copied right now: gc must leave their leftovers. */
  get busyImages(): ReadonlySet<string> {
    return this.uploading;
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

  /** The client's fields for a create (current undefined) or an update, checked for read-only ones. */
  private readInput(body: unknown, current: ImageRecord | undefined): ImageInput & Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw invalidField('(body)', 'type', 'a JSON object of image fields');
    }
    const problems: FieldProblem[] = [];
    const input: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(body as Record<string, unknown>)) {
      if (this.o.schema.readOnlyFields.has(field)) {
        // Sending back a value unchanged (GET, edit, PUT) is fine; changing it is not.
        const stored = current as unknown as Record<string, unknown> | undefined;
        if (stored && isDeepStrictEqual(stored[field], value)) continue;
        if (stored && (field === 'uri' || field === 'access_count' || field === 'accessed_at')) continue;
        problems.push({ field, rule: 'readOnly', expected: 'no value: the server sets this field', message: `${field} is read-only` });
        continue;
      }
      if (value === null && current === undefined) continue;
      input[field] = value;
    }
    if (problems.length > 0) throw invalid(`read-only fields cannot be set: ${problems.map((p) => p.field).join(', ')}`, problems);
    return input as ImageInput & Record<string, unknown>;
  }

  /**
   * Schema and cross-record rules. A new kernel or ramdisk reference must name an image the caller
   * can see: one they cannot see is reported as missing, so references cannot probe for private ids.
   */
  private check(record: ImageRecord, who: Principal, current: ImageRecord | undefined): void {
    this.o.schema.assertValid(record, 'image');
    const problems = referenceProblems(record, (rid) => {
      const target = this.o.index.get(rid);
      const kept = current !== undefined && (current.kernel === rid || current.ramdisk === rid);
      return target && (kept || this.canSee(who, target)) ? target : undefined;
    });
    if (record.store !== undefined && !this.o.stores.has(record.store)) {
      problems.push({ field: 'store', rule: 'exists', expected: `one of the configured stores: ${[...this.o.stores.keys()].join(', ')}`, message: `store: no store named ${record.store}` });
    }
    if (problems.length > 0) throw invalid(`image is invalid: ${problems.map((p) => p.message).join('; ')}`, problems);
  }

  private async commit(record: ImageRecord, who: Principal, message: string): Promise<void> {
    await this.o.catalogs.save(record, this.o.index.get(record.id), authorOf(who), message);
    this.o.index.put(record);
  }
}

function isClientCutOff(error: unknown): boolean {
  const e = error as NodeJS.ErrnoException;
  return e.code === 'ECONNRESET' || e.code === 'ERR_STREAM_PREMATURE_CLOSE' || e.code === 'ABORT_ERR' || e.message === 'aborted';
}

function describeFailure(error: unknown): string {
  if (error instanceof VisorError) return error.message;
  if (isClientCutOff(error)) return 'the client cut the upload off';
  return (error as Error).message ?? String(error);
}

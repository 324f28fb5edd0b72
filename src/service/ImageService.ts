import { randomUUID, createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import type { ImageSchema } from '../catalog/ImageSchema.ts';
import type { CatalogIndex } from '../catalog/CatalogIndex.ts';
import type { CatalogWriter, CommitAuthor } from '../catalog/CatalogWriter.ts';
import type { ImageQuery } from '../catalog/ImageQuery.ts';
import { BRIEF_FIELDS, type ImageBrief, type ImageInput, type ImageRecord, type ImageView } from '../catalog/ImageRecord.ts';
import { recordPath, assertImageId } from '../catalog/CatalogLayout.ts';
import { serializeRecord } from '../catalog/RecordFile.ts';
import { referenceProblems, referrers } from '../catalog/CatalogRules.ts';
import type { ByteRange, ImageStore } from '../store/ImageStore.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';
import type { Principal } from '../auth/Principal.ts';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { DigestMeter } from './DigestMeter.ts';
import { KeyedLock } from './KeyedLock.ts';
import { conflict, forbidden, invalid, invalidField, notFound, preconditionFailed, tooLarge, unauthenticated, unavailable, VisorError, type FieldProblem } from '../errors/VisorError.ts';

export interface ImageServiceOptions {
  schema: ImageSchema;
  index: CatalogIndex;
  writer: CatalogWriter;
  stores: ReadonlyMap<string, ImageStore>;
  defaultStore: string;
  stats: AccessStats;
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
  /** Base of image uris; the server sets it once it knows the port it listens on. */
  publicUrl: string;

  constructor(options: ImageServiceOptions) {
    this.o = options;
    this.publicUrl = options.publicUrl;
  }

  // Access rules of the core issue: anonymous callers see public images; any authenticated caller
  // sees all. Owner checks apply to writes. Finer grants replace these two functions.
  canSee(who: Principal | undefined, r: ImageRecord): boolean {
    return who !== undefined || r.access === 'public';
  }

  private assertCanWrite(who: Principal | undefined, r?: ImageRecord): Principal {
    if (!who) throw unauthenticated();
    if (r && !who.admin && r.owner !== who.name) throw forbidden(`image ${r.id} belongs to ${r.owner}`);
    return who;
  }

  private find(id: string, who: Principal | undefined): ImageRecord {
    assertImageId(id);
    const r = this.o.index.get(id);
    // An image the caller may not see is reported exactly like a missing one.
    if (!r || !this.canSee(who, r)) throw notFound(`image ${id}`);
    return r;
  }

  view(r: ImageRecord): ImageView {
    const stats = this.o.stats.get(r.id);
    return { ...r, uri: `${this.publicUrl}/images/${r.id}`, access_count: stats?.count ?? 0, ...(stats ? { accessed_at: stats.last } : {}) };
  }

  brief(r: ImageRecord): ImageBrief {
    const v = this.view(r) as unknown as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const f of BRIEF_FIELDS) if (v[f] !== undefined) out[f] = v[f];
    return out as unknown as ImageBrief;
  }

  /** Strong validator of a record's stored content, for ETag and If-Match. */
  etag(r: ImageRecord): string {
    return `"${createHash('sha256').update(serializeRecord(r, this.o.schema)).digest('base64url').slice(0, 27)}"`;
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
    if (!r) throw notFound(`available image in series ${series}`);
    return r;
  }

  async create(body: unknown, caller: Principal | undefined): Promise<ImageRecord> {
    const who = this.assertCanWrite(caller);
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
    this.check(record);
    await this.commit(record, who, `Register image ${record.id} "${record.name}"`);
    return record;
  }

  async update(id: string, body: unknown, caller: Principal | undefined, ifMatch?: string): Promise<ImageRecord> {
    // Authentication comes first: an anonymous write is a 401 whether or not the image is visible.
    this.assertCanWrite(caller);
    this.find(id, caller);
    return this.lock.run(id, async () => {
      const current = this.find(id, caller);
      const who = this.assertCanWrite(caller, current);
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
      if (changed.includes('store') && current.locations?.length) {
        throw conflict(`image ${id} already has its file in store ${current.locations[0]!.store}; its store cannot change`);
      }
      if (changed.includes('type') && current.type !== next['type']) {
        const users = referrers(id, this.o.index.all());
        if (users.length > 0) throw conflict(`image ${id} is the ${current.type} of ${users.map((u) => u.id).join(', ')}; its type cannot change`);
      }
      next['updated_at'] = new Date().toISOString();
      const record = next as unknown as ImageRecord;
      this.check(record);
      await this.commit(record, who, `Update image ${id}: ${changed.join(', ')}`);
      return record;
    });
  }

  async remove(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    this.assertCanWrite(caller);
    this.find(id, caller);
    return this.lock.run(id, async () => {
      const current = this.find(id, caller);
      const who = this.assertCanWrite(caller, current);
      if (this.uploading.has(id)) throw conflict(`image ${id} is being uploaded`);
      const users = referrers(id, this.o.index.all());
      if (users.length > 0) throw conflict(`image ${id} is the ${current.type} of ${users.map((u) => u.id).join(', ')}; delete or change those first`);
      await this.o.writer.commit({ changes: [{ path: recordPath(id), content: null }], author: authorOf(who), message: `Delete image ${id} "${current.name}"` });
      this.o.index.delete(id);
      this.o.stats.forget(id);
      for (const loc of current.locations ?? []) {
        // The record is gone either way; a file the store failed to delete is found by store gc.
        await this.o.stores.get(loc.store)?.delete(loc.key).catch((e: unknown) => this.o.onUploadError?.(id, e));
      }
      return current;
    });
  }

  async upload(id: string, body: Readable, options: UploadOptions, caller: Principal | undefined): Promise<ImageRecord> {
    this.assertCanWrite(caller);
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
      const current = this.find(id, caller);
      const who = this.assertCanWrite(caller, current);
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
        return { who, store, record };
      } catch (e) {
        this.uploading.delete(id);
        throw e;
      }
    });
    const { who, store } = claimed;
    try {
      const meter = new DigestMeter(algorithm, this.o.maxUploadBytes);
      const write = await store.write(id, options.signal ? { signal: options.signal } : {});
      try {
        await pipeline(body, meter, write.stream, ...(options.signal ? [{ signal: options.signal }] : []));
        const checksum = meter.digest();
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
    const location = r.locations?.find((l) => this.o.stores.has(l.store));
    if (!location) throw conflict(`image ${id} has no location in a store this daemon has`);
    const range = pickRange(r.size, r.checksum);
    const store = this.o.stores.get(location.store)!;
    return {
      image: this.view(r),
      size: r.size,
      ...(range ? { range } : {}),
      open: async (signal?: AbortSignal) => {
        const stream = await store.read(location.key, range, signal);
        if (!range || range.start === 0) this.o.stats.record(id);
        return stream;
      },
    };
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

  private check(record: ImageRecord): void {
    this.o.schema.assertValid(record, 'image');
    const problems = referenceProblems(record, (rid) => this.o.index.get(rid));
    if (record.store !== undefined && !this.o.stores.has(record.store)) {
      problems.push({ field: 'store', rule: 'exists', expected: `one of the configured stores: ${[...this.o.stores.keys()].join(', ')}`, message: `store: no store named ${record.store}` });
    }
    if (problems.length > 0) throw invalid(`image is invalid: ${problems.map((p) => p.message).join('; ')}`, problems);
  }

  private async commit(record: ImageRecord, who: Principal, message: string): Promise<void> {
    await this.o.writer.commit({ changes: [{ path: recordPath(record.id), content: serializeRecord(record, this.o.schema) }], author: authorOf(who), message });
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

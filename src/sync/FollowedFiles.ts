import { PassThrough, type Readable } from 'node:stream';
import type { ImageLocation, ImageRecord } from '../api/ImageRecord.ts';
import { ConcurrencyLimit } from '../auth/ConcurrencyLimit.ts';
import type { UpstreamConfig } from '../config/VisorConfig.ts';
import { conflict, TooManyRequests, VisorError } from '../errors/VisorError.ts';
import { idFromPath } from '../catalog/CatalogLayout.ts';
import type { Logger } from '../log/Logger.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { fetchedKey, type FetchedFiles } from './FetchedFiles.ts';
import { fetchUpstreamFile } from './UpstreamFileFetch.ts';
import type { InspectionPolicy } from '../inspection/InspectionVerdict.ts';
import type { UploadScan } from '../scanning/ImageScans.ts';

/** Background fetches of the `immediate` policy running at once, all upstreams together. */
const IMMEDIATE_AT_ONCE = 2;
/**
 * Fetches started by downloads running at once, all upstreams together: anyone may download a public
 * followed image, so without a cap anyone could set this instance fetching every file it follows at
 * once (its disk, its bandwidth and the upstream's). Beyond it a download is told to come back (429).
 */
export const ON_DEMAND_AT_ONCE = 8;
/** After a failed fetch, the image's next one waits this long, doubling with each failure in a row (5 s, 10 s, 20 s…) up to an hour. */
const FIRST_BACKOFF_S = 5;
const MAX_BACKOFF_S = 3600;

/**
 * How a followed image's file is served: from the copy fetched earlier (`local`), or fetched now
 * (`fetch`). Anything else (no file policy, a filter leaving it out) is refused by plan() itself.
 */
export type FollowedPlan = { kind: 'local'; location: ImageLocation } | { kind: 'fetch'; fetch(options: { stream: boolean }): Promise<FetchedBytes> };

/** A fetch's answer: its bytes as they arrive (for the download that started it), or the kept copy once it is there. */
export type FetchedBytes = { stream: Readable; location: ImageLocation } | { location: ImageLocation };

export interface FollowedFilesOptions {
  upstreams: readonly UpstreamConfig[];
  stores: ReadonlyMap<string, ImageStore>;
  /** uploads.max_bytes: a record naming more is never fetched. */
  maxBytes: number;
  /** What format inspection accepts of a fetched file (uploads.max_virtual_size). */
  inspection: InspectionPolicy;
  /** A malware scan for a fetch's pass, when scanning is on. */
  scan: () => UploadScan | undefined;
  state: FetchedFiles;
  /** The image as the catalogue holds it now, and whether it is in the shared catalogue (the only one a sync writes). */
  current(id: string): ImageRecord | undefined;
  isShared(r: ImageRecord): boolean;
  /** Whether the record names this instance as its origin: its own image, whatever a sync says. */
  isOwn(r: ImageRecord): boolean;
  /** Whether the site policy hides the image (src/federation/SitePolicy.ts): the site does not offer it, so fetches nothing of it. */
  isHidden(id: string): boolean;
  /** Whether the site's trust policy lets anyone but its owner and admins download the image (src/trust/SiteTrust.ts). */
  isDownloadable(id: string): boolean;
  /** The newest `n` available images of a series among those `keep` allows, newest first. */
  newestOfSeries(series: string, n: number, keep: (r: ImageRecord) => boolean): ImageRecord[];
  /** Whether the object may be this image's (ImageLedger.ownsObject). */
  ownsObject(id: string, store: { name: string; writable: boolean }, key: string): boolean;
  logger: Logger;
}

/**
 * Followers serve the bytes too. An image whose record a sync brought from an upstream is followed:
 * its record's locations name the upstream's stores, never this instance's (an object here under the
 * same key was not written for it), so its file is served only from a copy this instance fetched from
 * the upstream's file route and verified (size and digest, while streaming), kept in a local store
 * under a key of its own (fetchedKey) and recorded in this instance's state (FetchedFiles), never in
 * the upstream's record. Per upstream, `files` says whether files are fetched at all, at the first
 * download (on_demand) or also right after each sync (immediate); the mirror filters say which.
 *
 * Concurrent downloads of an image being fetched share the one upstream read: the download that
 * started it gets the bytes as they arrive, the others wait for the verified copy and read it.
 */
export class FollowedFiles {
  private readonly o: FollowedFilesOptions;
  private readonly upstreams: Map<string, UpstreamConfig>;
  /** Fetches under way, by image id. */
  private readonly inFlight = new Map<string, Promise<ImageLocation>>();
  /** Of those, how many downloads started. */
  private onDemand = 0;
  /** The last failed fetch of each image's file (this version of it), until one succeeds. */
  private readonly failures = new Map<string, { checksum: string | undefined; at: number; failures: number; reason: string }>();
  private readonly background = new ConcurrencyLimit({ limit: IMMEDIATE_AT_ONCE, maxQueued: 1_000_000 });
  private readonly closing = new AbortController();

  constructor(options: FollowedFilesOptions) {
    this.o = options;
    this.upstreams = new Map(options.upstreams.map((u) => [u.name, u]));
  }

  /** The upstream a shared record came from, if a sync brought it. */
  upstreamOf(r: ImageRecord): UpstreamConfig | undefined {
    const name = this.o.state.originOf(r.id);
    return name !== undefined && this.o.isShared(r) && !this.o.isOwn(r) ? this.upstreams.get(name) : undefined;
  }

  /**
   * How to serve an available image's file when it is followed; undefined when it is not (its own
   * locations serve it). Refuses (409) what this instance cannot serve, saying why.
   */
  plan(r: ImageRecord): FollowedPlan | undefined {
    const u = this.upstreamOf(r);
    if (!u) return undefined;
    const kept = this.keptCopy(r);
    if (kept) return { kind: 'local', location: kept };
    const why = this.whyNotFetched(u, r);
    if (why) throw conflict(`image ${r.id} has no location in a store this daemon has: it is followed from upstream ${u.name} ${why}`);
    return { kind: 'fetch', fetch: (options) => this.fetch(u, r, options.stream) };
  }

  /** The verified copy of this version of the image's file, if this instance keeps one. */
  private keptCopy(r: ImageRecord): ImageLocation | undefined {
    const f = this.o.state.fileOf(r.id);
    if (!f || f.size !== r.size || f.checksum !== r.checksum) return undefined;
    const store = this.o.stores.get(f.store);
    if (!store || !this.o.ownsObject(r.id, { name: store.name, writable: store.writable }, f.key)) return undefined;
    return { store: f.store, key: f.key };
  }

  /** Why the image's file is not fetched, or undefined when it is. */
  private whyNotFetched(u: UpstreamConfig, r: ImageRecord): string | undefined {
    const f = u.files;
    if (f.policy === 'off') return `without files (upstreams.${u.name}.files is off); ask its operator to set on_demand or immediate, or download it from the upstream`;
    if (this.o.isHidden(r.id)) return 'and the site policy hides it: its file is not fetched';
    if (r.size! > this.o.maxBytes) return `and its size, ${r.size} bytes, is over uploads.max_bytes (${this.o.maxBytes}): it is not fetched`;
    const filtered = this.filteredBy(u, r);
    if (filtered) return `and upstreams.${u.name}.${filtered} leaves its file out of this mirror`;
    return undefined;
  }

  /** The mirror filter that leaves the image's file out, if one does. */
  private filteredBy(u: UpstreamConfig, r: ImageRecord): string | undefined {
    const f = u.files;
    if (f.architectures && !(r.architecture !== undefined && f.architectures.includes(r.architecture))) return 'architecture';
    if (f.series && !(r.series !== undefined && f.series.includes(r.series))) return 'series';
    if (f.keepNewest !== undefined && r.series !== undefined) {
      // Among the images this site offers: a hidden one does not take a place.
      const newest = this.o.newestOfSeries(r.series, f.keepNewest, (x) => this.upstreamOf(x) === u && !this.o.isHidden(x.id));
      if (!newest.some((x) => x.id === r.id)) return 'keep_newest';
    }
    return undefined;
  }

  /**
   * The image's file, fetched now or by the fetch already under way. `stream`: the caller wants the
   * bytes as they arrive, which only the download starting the fetch gets; the others get the copy.
   */
  private async fetch(u: UpstreamConfig, r: ImageRecord, stream: boolean): Promise<FetchedBytes> {
    const running = this.inFlight.get(r.id);
    if (running) return { location: await running };
    const failed = this.failures.get(r.id);
    if (failed && failed.checksum === r.checksum) {
      const wait = failed.at + Math.min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2 ** (failed.failures - 1)) * 1000 - Date.now();
      if (wait > 0) throw new TooManyRequests(`image ${r.id}'s file could not be fetched from upstream ${u.name} ${Math.round((Date.now() - failed.at) / 1000)} s ago (${failed.reason}); the next attempt may start in ${Math.ceil(wait / 1000)} s`, wait / 1000);
    }
    if (this.onDemand >= ON_DEMAND_AT_ONCE) throw new TooManyRequests(`${this.onDemand} followed images' files are being fetched from their upstreams for downloads already; try again shortly`, 5);
    const client = stream ? new PassThrough({ highWaterMark: 1 << 20 }) : undefined;
    this.onDemand++;
    const done = this.start(u, r, client);
    done.then(() => this.onDemand--, () => this.onDemand--);
    if (client) {
      done.catch(() => undefined);
      return { stream: client, location: { store: u.files.store, key: fetchedKey(u.name, r.id) } };
    }
    return { location: await done };
  }

  /** Starts one fetch of the image's file; settles once the copy is kept and recorded, or failed. */
  private start(u: UpstreamConfig, r: ImageRecord, client?: PassThrough): Promise<ImageLocation> {
    const location = { store: u.files.store, key: fetchedKey(u.name, r.id) };
    const store = this.o.stores.get(location.store)!;
    const started = performance.now();
    const done = (async () => {
      await fetchUpstreamFile(r, { upstream: u.name, url: `${u.files.url}/images/${encodeURIComponent(r.id)}/file`, store, key: location.key, signal: this.closing.signal, inspection: this.o.inspection, scan: this.o.scan() }, client);
      await this.o.state.fetched(r.id, { upstream: u.name, ...location, size: r.size!, checksum: r.checksum!, fetched_at: new Date().toISOString() });
      this.o.logger.info({ image: r.id, upstream: u.name, bytes: r.size, ms: Math.round(performance.now() - started) }, 'fetched a followed image file');
      return location;
    })();
    this.inFlight.set(r.id, done);
    done.then(
      () => {
        this.inFlight.delete(r.id);
        this.failures.delete(r.id);
      },
      (error: unknown) => {
        this.inFlight.delete(r.id);
        // Not while stopping: a fetch cut by the stop says nothing about the upstream.
        if (!this.closing.signal.aborted) {
          const before = this.failures.get(r.id);
          const failures = before && before.checksum === r.checksum ? before.failures + 1 : 1;
          this.failures.set(r.id, { checksum: r.checksum, at: Date.now(), failures, reason: ((error as Error).message ?? String(error)).slice(0, 300) });
        }
        this.o.logger.warn({ image: r.id, upstream: u.name, err: error }, 'fetching a followed image file failed');
      },
    );
    return done;
  }

  /**
   * After a sync of `upstream` changed these catalogue paths (the index already reloaded): records
   * its origin, drops kept copies that no longer match their record or that the filters now leave
   * out, and, under the immediate policy, fetches the files the sync brought, in the background.
   */
  async synced(upstream: string, paths: readonly string[]): Promise<void> {
    const u = this.upstreams.get(upstream);
    if (!u) return;
    const present: string[] = [];
    const gone: string[] = [];
    for (const path of paths) {
      const id = idFromPath(path);
      if (!id) continue;
      const r = this.o.current(id);
      // A record the sync did not leave in the shared catalogue (gone, or a private image's id): not followed.
      if (r && this.o.isShared(r)) present.push(id);
      else gone.push(id);
    }
    await this.o.state.followed(upstream, present, gone);
    await this.evict(u);
    if (u.files.policy !== 'immediate') return;
    for (const id of present) {
      const r = this.o.current(id);
      if (!r || r.status !== 'available' || r.size === undefined || r.checksum === undefined || this.keptCopy(r) || this.inFlight.has(id)) continue;
      if (this.upstreamOf(r) !== u || this.whyNotFetched(u, r)) continue;
      // Not ahead of a download the trust policy would refuse (unendorsed, revoked, ...): a download
      // an admin asks for still fetches it.
      if (!this.o.isDownloadable(id)) continue;
      void this.background
        .run(async () => {
          // Looked at again at its turn: a download may have fetched it meanwhile.
          const now = this.o.current(id);
          if (this.closing.signal.aborted || !now || now !== r || this.keptCopy(r)) return;
          await (this.inFlight.get(id) ?? this.start(u, r));
        })
        .catch(() => undefined);
    }
  }

  /**
   * At start: records a sync brought before this instance kept their upstream (an earlier version)
   * are unknown here, and their files would never be served. With a single upstream, every record of
   * another instance's origin in the shared catalogue came from it (nothing else writes foreign
   * records there), so those are recorded as its. With several, only their next change tells.
   */
  async recordEarlierSyncs(records: Iterable<ImageRecord>): Promise<number> {
    if (this.upstreams.size !== 1) return 0;
    const [u] = this.upstreams.values();
    const ids: string[] = [];
    for (const r of records) {
      if (r.origin !== undefined && !this.o.isOwn(r) && this.o.isShared(r) && this.o.state.originOf(r.id) === undefined) ids.push(r.id);
    }
    if (ids.length > 0) await this.o.state.followed(u!.name, ids, []);
    return ids.length;
  }

  /** Kept copies of this upstream's images whose record is gone, changed, or left out by the filters now: deleted. */
  private async evict(u: UpstreamConfig): Promise<void> {
    const stale: Array<[string, ImageLocation]> = [];
    for (const [id, f] of this.o.state.entries()) {
      if (f.upstream !== u.name || this.inFlight.has(id)) continue;
      const r = this.o.current(id);
      const keep = r !== undefined && this.upstreamOf(r) === u && r.size === f.size && r.checksum === f.checksum && this.filteredBy(u, r) === undefined && !this.o.isHidden(id);
      if (!keep) stale.push([id, { store: f.store, key: f.key }]);
    }
    for (const [id, l] of stale) {
      await this.o.state.forget(id);
      await this.o.stores
        .get(l.store)
        ?.delete(l.key)
        .catch((e: unknown) => this.o.logger.warn({ image: id, store: l.store, err: e }, 'could not delete a fetched file no longer kept'));
    }
  }

  /** The records with their kept copies among their locations: what store gc must leave alone. */
  *withKeptCopies(records: Iterable<ImageRecord>): IterableIterator<ImageRecord> {
    for (const r of records) {
      const f = this.o.state.fileOf(r.id);
      yield f ? { ...r, locations: [...(r.locations ?? []), { store: f.store, key: f.key }] } : r;
    }
  }

  /** Cancels fetches under way (nothing they wrote is published) and waits for them to end. */
  async close(): Promise<void> {
    this.closing.abort(new VisorError('unavailable', 'the daemon is stopping'));
    await Promise.allSettled([...this.inFlight.values()]);
  }
}

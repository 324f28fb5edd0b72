import type { ImageRecord, ImageScan } from '../api/ImageRecord.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, forbidden, tooLarge, TooManyRequests, unavailable, VisorError } from '../errors/VisorError.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import type { ImageBytes } from '../image-files/ImageBytes.ts';
import { algorithmOf, digestOf } from '../image-files/HashedCopy.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { ClamdClient, type ClamdOutcome, type ClamdVersion, type InstreamScan } from './ClamdClient.ts';
import { isQuarantined, quarantined } from './Quarantine.ts';
import type { ScanMode, ScanningConfig } from './ScanningConfig.ts';
import { nextScan, scanRecord } from './ScanVerdict.ts';

/** The daemon's own commits of scans it ran by itself (after an async upload, on the schedule). */
const DAEMON: Principal = { name: 'visor', admin: true };

/**
 * Scans on demand running at once, daemon-wide: each reads a whole file from its store and holds one
 * of clamd's threads (MaxThreads, 10 by default), so any user's many scans of their own big images
 * would otherwise starve everyone's blocking uploads of clamd.
 */
const MAX_ON_DEMAND = 2;

const LIMIT_HINT = ' (scanning.max_stream_bytes: raise both, at most 4 GiB, or scan in async mode)';

/**
 * A scan fed by an upload's single pass (blocking mode): the chunks go to clamd as they go to the
 * store, and the verdict is asked for once the last byte passed.
 */
export class UploadScan {
  private readonly client: ClamdClient;
  private readonly stream: InstreamScan;
  private readonly version: Promise<ClamdVersion | Error>;

  constructor(client: ClamdClient) {
    this.client = client;
    // Asked at once, on its own connection: it costs the upload nothing.
    this.version = client.version().catch((e: unknown) => e as Error);
    this.stream = client.instream();
  }

  /** Throws as soon as there can be no verdict (clamd unreachable, the file over its limit): the rest is not stored for nothing. */
  push(chunk: Buffer, id: string): Promise<void> | undefined {
    const early = this.stream.endedEarly;
    if (early) this.judge(id, early);
    return this.stream.write(chunk);
  }

  abort(): void {
    this.stream.abort();
  }

  /** The verdict to record; a 503 naming the engine when there is none, a 413 when the file is over clamd's limit. */
  async verdict(id: string): Promise<ImageScan> {
    return this.judge(id, await this.stream.finish(), await this.version);
  }

  private judge(id: string, outcome: ClamdOutcome, version?: ClamdVersion | Error): ImageScan {
    const scan = scanRecord(outcome, version instanceof Error ? undefined : version, LIMIT_HINT);
    if (scan.verdict === 'error') {
      throw unavailable(`the malware scanner (clamd at ${this.client.where}) gave no verdict on the file of image ${id}: ${scan.reason}; in blocking mode a file is available only once scanned clean: upload again once it is back`);
    }
    if (scan.verdict === 'too_large') throw tooLarge(`file of image ${id} refused: ${scan.reason}`);
    return scan;
  }
}

export interface ImageScansOptions {
  ledger: ImageLedger;
  stores: ReadonlyMap<string, ImageStore>;
  bytes: ImageBytes;
  config: ScanningConfig;
  onError?: (id: string, error: unknown) => void;
}

/**
 * Malware scanning of images' files with ClamAV's clamd (src/scanning/ClamdClient.ts): in an
 * upload's pass (blocking mode), after an upload (async mode, one scan at a time), on demand (owner
 * or admin) and on the schedule. Each verdict is recorded in the image's record (`scan`); an
 * infected file is quarantined (Quarantine.ts) until an admin releases it or it is deleted. No
 * verdict (clamd down, the file over its limit) is recorded as such: never a pass.
 */
export class ImageScans {
  private readonly o: ImageScansOptions;
  readonly client: ClamdClient;
  private readonly queue: string[] = [];
  private draining: Promise<void> | undefined;
  private stopped = false;
  private onDemand = 0;
  /** Cuts the scans under way when the daemon stops: a scan of a large file must not hold the stop. */
  private readonly stopping = new AbortController();

  constructor(options: ImageScansOptions) {
    this.o = options;
    this.client = new ClamdClient(options.config.clamd, { timeoutMs: options.config.timeoutSeconds * 1000, maxStreamBytes: options.config.maxStreamBytes });
  }

  get mode(): ScanMode {
    return this.o.config.mode;
  }

  /** A scan for the upload's pass, in blocking mode only. */
  forUpload(): UploadScan | undefined {
    return this.mode === 'blocking' ? new UploadScan(this.client) : undefined;
  }

  /**
   * A scan for the pass that fetches a followed image's file, whenever scanning is on: the record is
   * another instance's (its verdict is not this instance's to record), so the file is kept only once
   * scanned clean here, in either mode.
   */
  forFetch(): UploadScan | undefined {
    return this.mode === 'off' ? undefined : new UploadScan(this.client);
  }

  /** After an upload (async mode): scanned behind it, one file at a time. */
  uploaded(r: ImageRecord): void {
    if (this.mode !== 'async' || this.stopped) return;
    this.queue.push(r.id);
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (let id = this.queue.shift(); id !== undefined && !this.stopped; id = this.queue.shift()) {
      await this.scanStored(id).catch((e: unknown) => this.o.onError?.(id!, e));
    }
  }

  /** Waits for the scans queued or under way; later ones are not started. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.stopping.abort(unavailable('the daemon is stopping: scan again once it is back'));
    await this.draining;
  }

  /** Whether the scheduled scan looks at this image: an available file of this instance's, not quarantined. */
  scannable(r: ImageRecord): boolean {
    return r.status === 'available' && r.size !== undefined && r.checksum !== undefined && !isQuarantined(r) && this.locations(r).length > 0;
  }

  /** A scan the daemon runs by itself: recorded whatever the verdict; an image that is busy, gone or no longer scannable is skipped. */
  async scanStored(id: string): Promise<ImageRecord | undefined> {
    const r = this.o.ledger.current(id);
    if (!r || !this.scannable(r)) return undefined;
    return this.o.ledger.withFile(id, DAEMON, 'manage', async (current) => (this.scannable(current) ? this.record(current, await this.scanFile(current), DAEMON) : undefined));
  }

  /** `visor scan ID`: the owner or an admin. The verdict is recorded; no verdict is a 503 naming the engine (and recorded as such). */
  async scan(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    return this.o.ledger.withFile(id, who, 'manage', async (current) => {
      if (this.mode === 'off') throw conflict('malware scanning is off on this daemon (scanning.mode)');
      if (isQuarantined(current)) throw quarantined(current);
      if (!this.scannable(current)) throw conflict(`image ${id} is ${current.status}; only an available image's file in a store of this daemon can be scanned`);
      if (this.onDemand >= MAX_ON_DEMAND) throw new TooManyRequests(`${MAX_ON_DEMAND} scans on demand are running on this daemon: try again shortly`, 5);
      this.onDemand++;
      const scan = await this.scanFile(current).finally(() => this.onDemand--);
      const record = await this.record(current, scan, who);
      if (scan.verdict === 'error') throw unavailable(`the malware scanner (clamd at ${this.client.where}) gave no verdict on the file of image ${id}: ${scan.reason}`);
      return record;
    });
  }

  /**
   * Lets an infected file be served again: an admin's act alone (decided before any lookup, so the
   * answer tells a non-admin nothing of the image). The finding stays on the record.
   */
  async release(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    if (!who.admin) throw forbidden('only admins may release a quarantined image');
    this.o.ledger.find(id, who, 'manage');
    return this.o.ledger.change(
      id,
      who,
      (r) => {
        if (!isQuarantined(r)) throw conflict(`image ${id} is not quarantined`);
        return { ...r, scan: { ...r.scan!, released_at: new Date().toISOString(), released_by: who.name }, updated_at: new Date().toISOString() };
      },
      `Release image ${id} from quarantine (${this.o.ledger.current(id)?.scan?.signature ?? 'malware'} found)`,
    );
  }

  private locations(r: ImageRecord) {
    return this.o.ledger.ownLocations(r, (s) => this.o.stores.get(s)?.writable);
  }

  /** Reads the stored file once, checked against its recorded size and digest, into clamd. */
  private async scanFile(current: ImageRecord): Promise<ImageScan> {
    const size = current.size!;
    const version = this.client.version().catch((e: unknown) => e as Error);
    const signal = this.stopping.signal;
    signal.throwIfAborted();
    const { stream, location } = await this.o.bytes.openStream(this.locations(current), undefined, signal);
    const scan = this.client.instream();
    const seen = await digestOf(stream, algorithmOf(current.checksum!), size, { signal, observe: (chunk) => scan.write(chunk) }).catch((e: unknown) => {
      scan.abort();
      throw e instanceof VisorError && e.kind === 'too_large' ? changed(current.id, location.store, `more than ${size} bytes`) : e;
    });
    if (seen.bytes !== size || seen.checksum !== current.checksum) {
      scan.abort();
      throw changed(current.id, location.store, seen.bytes !== size ? `${seen.bytes} bytes instead of ${size}` : `digest ${seen.checksum} instead of ${current.checksum}`);
    }
    const outcome = await scan.finish();
    const v = await version;
    return scanRecord(outcome, v instanceof Error ? undefined : v, LIMIT_HINT);
  }

  private async record(current: ImageRecord, scan: ImageScan, who: Principal): Promise<ImageRecord> {
    const id = current.id;
    const message =
      scan.verdict === 'infected'
        ? `Scan of image ${id}: ${scan.signature} found${isQuarantined({ scan: nextScan(current.scan, scan) }) ? ', quarantined' : ' (released before)'}`
        : `Scan of image ${id}: ${scan.verdict}${scan.reason ? ` (${scan.reason})` : ''}`;
    return this.o.ledger.change(id, who, (r) => ({ ...r, scan: nextScan(r.scan, scan), updated_at: new Date().toISOString() }), message);
  }
}

function changed(id: string, store: string, what: string): VisorError {
  return new VisorError('unavailable', `the file of image ${id} in store ${store} is not the one recorded (${what}): nothing was recorded`);
}

import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';
import type { Logger } from '../log/Logger.ts';
import { ImageSchema } from '../catalog/ImageSchema.ts';
import { CatalogIndex } from '../catalog/CatalogIndex.ts';
import { CatalogWriter } from '../catalog/CatalogWriter.ts';
import { initCatalog, isCatalog, configureCatalogRepo, forbidPushes } from '../catalog/CatalogRepo.ts';
import { removeStaleGitState, setStraysAside, undoInterruptedSync } from '../catalog/CatalogRecovery.ts';
import { gitDirOf } from '../git/gitDirOf.ts';
import { checkRecordFile, readRecordText, type FileProblem, type ScanResult } from '../catalog/CatalogScanner.ts';
import { idFromPath } from '../catalog/CatalogLayout.ts';
import { dropScan, joinScan } from '../catalog/ScanInFlight.ts';
import { dropEarlyScans, privateSnapshotPath, sharedSnapshotPath } from './EarlyScan.ts';
import { SitePolicy } from '../federation/SitePolicy.ts';
import { UpstreamFollower } from '../sync/UpstreamFollower.ts';
import { HeadPublisher } from '../federation/HeadPublisher.ts';
import { InstanceKey } from '../federation/InstanceKey.ts';
import type { SshPrivateKey } from '../trust/SshKeys.ts';
import { FetchedFiles } from '../sync/FetchedFiles.ts';
import { FollowedFiles } from '../sync/FollowedFiles.ts';
import { StaticView } from '../catalog/StaticView.ts';
import { CatalogSnapshot } from '../catalog/CatalogSnapshot.ts';
import { GitRunner } from '../git/GitRunner.ts';
import { createStore } from '../store/createStore.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { AccessStats } from '../tracking/AccessStats.ts';
import { ImageService } from '../images/ImageService.ts';
import { ImageLedger } from '../images/ImageLedger.ts';
import { ListPages } from '../images/ListPages.ts';
import { ImageViews } from '../images/ImageViews.ts';
import { ImageBytes } from '../image-files/ImageBytes.ts';
import { WebDownloads } from '../image-files/WebDownloads.ts';
import { WebDownloadPolicy } from '../image-files/WebDownloadPolicy.ts';
import { ImageCopier } from '../image-files/ImageCopier.ts';
import { ImageDownloads } from '../image-files/ImageDownloads.ts';
import { ImageInspections } from '../image-files/ImageInspections.ts';
import { ImageScans } from '../scanning/ImageScans.ts';
import { ScanSchedule } from '../scanning/ScanSchedule.ts';
import { ImageLinker } from '../image-files/ImageLinker.ts';
import { ImageUploads } from '../image-files/ImageUploads.ts';
import { StoreCollector } from '../image-files/StoreCollector.ts';
import { StoreDirectory } from '../image-files/StoreDirectory.ts';
import { StoredObjects } from '../image-files/StoredObjects.ts';
import type { HealthReport } from '../api/wire.ts';
import { coreHealth } from './coreHealth.ts';
import type { Principal } from '../auth/Principal.ts';
import { AccessControl } from '../access/AccessControl.ts';
import { SiteTrust } from '../trust/SiteTrust.ts';
import { unavailable, VisorError } from '../errors/VisorError.ts';
import { CatalogRepositories, scopeOf, type CatalogRepository, type CatalogScope } from '../catalog/CatalogRepositories.ts';
import { placeRecords } from '../catalog/RecordPlacement.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';

interface OpenedCatalog extends ScanResult {
  repo: CatalogRepository;
  snapshot: CatalogSnapshot;
  source: 'snapshot' | 'scan';
}

/**
 * Opens (creating on first start) one catalogue repository and loads its records. Its git commands
 * all run before the load, but a scan begun early goes on meanwhile, on this thread too (joinScan):
 * between the scan's slices, and not after it, or they would wait for its end and run one by one.
 */
async function openCatalog(scope: CatalogScope, dir: string, snapshotFile: string, strayRoot: string, schema: ImageSchema, logger: Logger, signingKey: SshPrivateKey | undefined): Promise<OpenedCatalog> {
  const existing = await isCatalog(dir);
  if (existing) joinScan(dir, schema);
  // Before any git command here: a lock left by a killed git would fail them all.
  const gitDir = existing ? gitDirOf(dir) : undefined;
  const removed = gitDir ? await removeStaleGitState(gitDir) : [];
  if (removed.length > 0) logger.warn({ catalog: dir, scope, removed }, 'removed what git processes stopped mid-operation left behind');
  if (!existing) {
    // A catalogue created now holds nothing that an early scan of the folder could have read.
    dropScan(dir);
    logger.info({ catalog: dir, scope }, 'creating a new catalogue');
    // The shared catalogue never holds a private record (those live in the private one): saying so
    // in the catalogue lets publishers' hooks and CI hold every clone of it to that.
    await initCatalog(dir, scope === 'shared' ? 'public' : 'private');
  } else {
    await configureCatalogRepo(dir);
  }
  if (scope === 'private') {
    await forbidPushes(dir);
    // Private records are readable by their owner's account only, wherever private_path points.
    await chmod(dir, 0o700);
  }
  const git = new GitRunner(dir);
  // Before the writer reads the branch: a sync cut short left commits on it that nobody checked.
  const undone = gitDir ? await undoInterruptedSync(gitDir, git) : undefined;
  if (undone) logger.warn({ catalog: dir, scope, undone }, 'a sync stopped before its checks ended: its unchecked commits were taken off the branch; the next sync brings them again');
  const writer = new CatalogWriter(dir, git, signingKey ? { signingKey } : {});
  await writer.open();
  if (!existing) await writer.signCreationCommit();
  if (existing) {
    const { strays, setAsideIn } = await setStraysAside(dir, git, strayRoot);
    if (strays.length > 0) {
      // The early scan read the tree as it was; the load scans it again as committed.
      dropScan(dir);
      logger.warn({ catalog: dir, scope, strays: strays.length, setAsideIn, paths: strays.slice(0, 20) }, 'uncommitted files in the catalogue were never acknowledged: set aside, not served');
    }
  }
  const started = performance.now();
  const snapshot = new CatalogSnapshot(snapshotFile, dir, git, schema);
  const { records, problems, newestFirst, source, reread } = await snapshot.load({ head: writer.headCommit });
  for (const p of problems) logger.warn({ scope, file: p.file, field: p.field, rule: p.rule }, `catalogue file skipped: ${p.message}`);
  logger.info({ scope, images: records.length, source, reread, ms: Math.round(performance.now() - started) }, 'catalogue loaded');
  return { repo: { scope, dir, writer }, snapshot, records, problems, source, ...(newestFirst ? { newestFirst } : {}) };
}

/**
 * Like Promise.all, but waits for every step before failing with the first error: a step that
 * fails must not leave another (creating a catalogue, say) cut off halfway.
 */
async function allSettled<T extends readonly unknown[]>(steps: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(steps);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

async function openStores(config: VisorConfig): Promise<Map<string, ImageStore>> {
  const stores = new Map<string, ImageStore>();
  try {
    for (const [name, s] of Object.entries(config.stores)) {
      const store = await createStore(name, s);
      stores.set(name, store);
      await store.init();
    }
  } catch (error) {
    await closeStores(stores);
    throw error;
  }
  return stores;
}

async function closeStores(stores: ReadonlyMap<string, ImageStore>): Promise<void> {
  for (const store of stores.values()) await store.close();
}

/** A catalogue that cannot be opened is named by its setting: a raw system error names only a path. */
function catalogueFailure(setting: string, dir: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof VisorError) throw error;
    throw unavailable(`${setting}: cannot open the catalogue at ${dir}: ${(error as Error).message}`, error);
  };
}

/** What the daemon's lock on its folders needs from the open (src/service/DataDirectoryLock.ts). */
export interface FolderLock {
  /** Locks the catalogues this start created, before anything commits to them. */
  coverCatalogues(): void;
}

/** Parts opened by VisorCore.open, from which the services are built. */
interface CoreParts {
  config: VisorConfig;
  logger: Logger;
  schema: ImageSchema;
  index: CatalogIndex;
  catalogs: CatalogRepositories;
  stores: ReadonlyMap<string, ImageStore>;
  stats: AccessStats;
  accessControl: AccessControl;
  invalidByScope: Record<CatalogScope, FileProblem[]>;
  snapshots: Record<CatalogScope, CatalogSnapshot>;
  fetched: FetchedFiles;
  siteTrust: SiteTrust;
}

/**
 * The core, assembled from a configuration: each service the edges call, built once here. Edges
 * take the narrow services they translate for, never this whole object (the daemon's composition,
 * daemon/server.ts, hands them out).
 */
export class VisorCore {
  readonly config: VisorConfig;
  readonly schema: ImageSchema;
  readonly index: CatalogIndex;
  readonly catalogs: CatalogRepositories;
  readonly invalidFiles: FileProblem[];
  /** Accounts, grants, authentication, the audit log and reports. */
  readonly accessControl: AccessControl;
  /** Images' metadata and grants. */
  readonly images: ImageService;
  readonly views: ImageViews;
  /** The lists' pages as sent, kept while nothing they show changed. */
  readonly pages: ListPages;
  /** Images' files: uploads, downloads, copies, links, the stores and their garbage. */
  readonly uploads: ImageUploads;
  readonly downloads: ImageDownloads;
  readonly copier: ImageCopier;
  /** Glance's web-download import: fetches through the upload path, within the operator's [web_download] rules. */
  readonly webDownloads: WebDownloads;
  readonly linker: ImageLinker;
  readonly inspections: ImageInspections;
  /** Malware scans (ClamAV): on upload, on demand, on the schedule; quarantine and release. */
  readonly scans: ImageScans;
  private readonly scanSchedule: ScanSchedule | undefined;
  readonly collector: StoreCollector;
  readonly storeDirectory: StoreDirectory;
  readonly follower: UpstreamFollower;
  /** Signs the shared catalogue's head on a schedule (TUF's timestamp role); absent when catalog.head_validity_seconds is 0. */
  headPublisher: HeadPublisher | undefined;
  /** The instance's signing key (src/federation/InstanceKey.ts). */
  instanceKey: InstanceKey | undefined;
  /** Followed images' files: fetched from their upstream, kept and served here. */
  readonly followedFiles: FollowedFiles;
  readonly staticView: StaticView;
  readonly ledger: ImageLedger;
  /** The site's decisions about the images it follows. */
  readonly policy: SitePolicy;
  /** The site's trust policy, as the access rules apply it (src/trust/SiteTrust.ts). */
  readonly siteTrust: SiteTrust;
  private readonly stats: AccessStats;
  private readonly logger: Logger;
  private readonly snapshots: Record<CatalogScope, CatalogSnapshot>;
  private readonly invalidByScope: Record<CatalogScope, FileProblem[]>;

  private constructor(p: CoreParts) {
    const { config, logger, stores, index, catalogs, schema, stats, accessControl } = p;
    this.config = config;
    this.schema = schema;
    this.index = index;
    this.catalogs = catalogs;
    this.stats = stats;
    this.logger = logger;
    this.accessControl = accessControl;
    this.snapshots = p.snapshots;
    this.invalidByScope = p.invalidByScope;
    this.invalidFiles = [...p.invalidByScope.shared, ...p.invalidByScope.private];
    const onError = (id: string, error: unknown) => logger.warn({ image: id, err: error }, 'image file operation failed');
    const publicUrl = config.server.publicUrl || `${config.server.tls ? 'https' : 'http'}://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${config.server.port}`;
    this.siteTrust = p.siteTrust;
    this.ledger = new ImageLedger({ schema, index, catalogs, access: accessControl.access, identity: accessControl.identity, storeNames: [...stores.keys()] });
    this.views = new ImageViews({ schema, stats, publicUrl });
    const objects = new StoredObjects({ stores, namedElsewhere: (store, key, except) => this.ledger.namersOf(store, key, except).length > 0, onError });
    const bytes = new ImageBytes(stores);
    this.images = new ImageService({ ledger: this.ledger, views: this.views, schema, index, catalogs, defaultStore: config.defaultStore, identity: accessControl.identity, stats, grants: accessControl.grants, accounts: accessControl.accounts, objects, onError, siteTrust: this.siteTrust });
    this.pages = new ListPages({ images: this.images, ledger: this.ledger, views: this.views, schema });
    const inspection = { maxVirtualSize: config.uploads.maxVirtualSize };
    this.scans = new ImageScans({ ledger: this.ledger, stores, bytes, config: config.scanning, onError });
    this.scanSchedule =
      config.scanning.mode !== 'off' && config.scanning.scheduleSeconds > 0
        ? new ScanSchedule({ candidates: () => [...index.all()].filter((r) => this.scans.scannable(r)).map((r) => r.id), scan: (id) => this.scans.scanStored(id), statePath: join(config.dataDir, 'scan-schedule.json'), everySeconds: config.scanning.scheduleSeconds, pauseMs: config.scanning.pauseMs, logger })
        : undefined;
    this.uploads = new ImageUploads({ ledger: this.ledger, stores, defaultStore: config.defaultStore, maxUploadBytes: config.uploads.maxBytes, checksum: config.uploads.checksum, inspection, scans: this.scans, onError });
    this.followedFiles = new FollowedFiles({
      upstreams: config.upstreams,
      stores,
      maxBytes: config.uploads.maxBytes,
      inspection: { maxVirtualSize: config.uploads.maxVirtualSize },
      scan: () => this.scans.forFetch(),
      state: p.fetched,
      current: (id) => index.get(id),
      isShared: (r) => scopeOf(r) === 'shared',
      isOwn: (r) => r.origin !== undefined && r.origin === accessControl.identity.name,
      isHidden: (id) => accessControl.overlay.isHidden(id),
      isDownloadable: (id) => (p.siteTrust.treatment(id) ?? 'downloadable') === 'downloadable',
      newestOfSeries: (series, n, keep) => index.query({ equals: new Map([['series', [series]], ['status', ['available']]]), ranges: [], tags: [], properties: new Map(), sort: 'uploaded_at', dir: 'desc', limit: n }, keep).items,
      ownsObject: (id, store, key) => this.ledger.ownsObject(id, store, key),
      logger,
    });
    this.downloads = new ImageDownloads({ ledger: this.ledger, views: this.views, bytes, stats, followed: (r) => this.followedFiles.plan(r) });
    this.copier = new ImageCopier({ ledger: this.ledger, stores, bytes, objects });
    this.webDownloads = new WebDownloads({ uploads: this.uploads, maxBytes: config.uploads.maxBytes, policy: new WebDownloadPolicy(config.webDownload) });
    this.linker = new ImageLinker({ ledger: this.ledger, stores, checksum: config.uploads.checksum, inspection, scans: this.scans });
    this.inspections = new ImageInspections({ ledger: this.ledger, stores, bytes, inspection });
    this.collector = new StoreCollector({ stores, images: () => this.followedFiles.withKeptCopies(index.all()), busy: () => this.ledger.busy });
    this.storeDirectory = new StoreDirectory(stores, config.defaultStore);
    this.staticView = new StaticView(catalogs.shared.dir, () => catalogs.shared.writer.headCommit);
    this.policy = new SitePolicy({ overlay: accessControl.overlay, identity: accessControl.identity, record: (id) => index.get(id) });
    this.follower = new UpstreamFollower(catalogs.shared, accessControl.identity, config.upstreams, (paths, upstream) => this.synced(paths, upstream), logger, this.siteTrust.policy);
  }

  /**
   * With no snapshot a catalogue is scanned in full on two threads: the scan the daemon began before
   * loading this module (startEarlyScan), or one begun by the load, joined by this thread between its
   * other steps.
   */
  static async open(config: VisorConfig, logger: Logger, lock?: FolderLock): Promise<VisorCore> {
    try {
      return await VisorCore.openWith(config, logger, lock);
    } finally {
      // A start that failed before its loads took the scans over.
      dropEarlyScans(config);
    }
  }

  private static async openWith(config: VisorConfig, logger: Logger, lock: FolderLock | undefined): Promise<VisorCore> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    // Owner-only even when it existed before: it holds keys' hashes, grants, the audit log and the
    // private records' index. mkdir's mode applies only to folders it creates.
    await chmod(config.dataDir, 0o700);
    const schema = new ImageSchema();
    // Read first: a policy that cannot be read stops the start before anything opens.
    const trustPolicy = await SiteTrust.loadPolicy(config.trust.policy, config.trust.required);
    let siteTrust: SiteTrust | undefined;
    const stats = new AccessStats(join(config.dataDir, 'access-stats.json'));
    // What opened, closed again if the start fails: a failed start must leave nothing running.
    const opened: Array<() => Promise<void>> = [() => stats.close()];
    const closing = async <T>(step: Promise<T>, close: (part: T) => Promise<void>): Promise<T> => {
      const part = await step;
      opened.unshift(() => close(part));
      return part;
    };
    const fail = async (error: unknown): Promise<never> => {
      for (const close of opened) await close().catch(() => undefined);
      throw error;
    };
    let index: CatalogIndex | undefined;
    // Before the catalogues: their writers sign every commit with it.
    const instanceKey = config.catalog.signCommits || config.catalog.headValiditySeconds > 0 ? await InstanceKey.open(config.dataDir).catch(fail) : undefined;
    const signingKey = config.catalog.signCommits ? instanceKey?.signing : undefined;
    // Stores and access control open while the catalogues load: a first start's key hashing and git
    // spawns then overlap the scan instead of following it.
    const [[shared, priv], stores, accessControl] = await allSettled([
      allSettled([
        closing(openCatalog('shared', config.catalog.path, sharedSnapshotPath(config), join(config.dataDir, 'strays', 'shared'), schema, logger, signingKey).catch(catalogueFailure('catalog.path', config.catalog.path)), (c) => c.repo.writer.close()),
        closing(openCatalog('private', config.catalog.privatePath, privateSnapshotPath(config), join(config.dataDir, 'strays', 'private'), schema, logger, signingKey).catch(catalogueFailure('catalog.private_path', config.catalog.privatePath)), (c) => c.repo.writer.close()),
      ] as const),
      closing(openStores(config), closeStores),
      closing(AccessControl.open(config, logger, { images: () => index?.all() ?? [], stats, expiring: () => siteTrust?.expiring() ?? { days: 0, endorsements: [] } }, trustPolicy ? { get version() { return siteTrust?.version ?? 0; }, treatment: (id) => siteTrust?.treatment(id), judge: (id) => siteTrust?.judge(id), subject: (id) => siteTrust?.subject(id) } : undefined), (a) => a.close()),
    ] as const).catch(fail);
    // Catalogues created just now are locked before the first commit (an upload's recovery below).
    try {
      lock?.coverCatalogues();
    } catch (error) {
      await fail(error);
    }
    const catalogs = new CatalogRepositories(shared.repo, priv.repo, schema);
    // Each record is served from the catalogue its access puts it in, which every write, delete and
    // snapshot goes by: a private one the shared catalogue holds is moved now, before anything reads it.
    const placement = placeRecords(shared.records, priv.records, (r) => accessControl.identity.isHome(r));
    if (placement.move.length > 0 || placement.leftBehind.length > 0) {
      await catalogs.takeIntoPrivate(placement.move, placement.leftBehind, { name: 'visor', email: 'visor@visor.invalid' }).catch(fail);
      const ids = [...placement.move, ...placement.leftBehind].map((r) => r.id);
      logger.warn({ images: ids.length, ids: ids.slice(0, 20) }, "private images found in the shared catalogue were moved into the private one; the shared catalogue's history still holds them, as does every clone or mirror that fetched it");
    }
    for (const scope of ['shared', 'private'] as const) {
      for (const p of placement.problems[scope]) logger.warn({ scope, file: p.file, field: p.field, rule: p.rule }, `catalogue file skipped: ${p.message}`);
    }
    const served = (records: ImageRecord[]) => (placement.skipped.size === 0 ? records : records.filter((r) => !placement.skipped.has(r)));
    const loaded = (c: OpenedCatalog) => ({ records: served(c.records), ...(c.newestFirst ? { newestFirst: served(c.newestFirst) } : {}) });
    // The same id in both: a move cut short by a stop. The private copy wins: never expose by accident.
    index = CatalogIndex.ofBoth(loaded(shared), loaded(priv), (id) => logger.warn({ image: id }, 'image found in both catalogues; serving the private one'));
    index.warm();
    const records = index;
    siteTrust = new SiteTrust({ policy: trustPolicy, statementDirs: [shared.repo.dir, priv.repo.dir], trustDir: shared.repo.dir, record: (id) => records.get(id) });
    const fetched = await FetchedFiles.open(config.dataDir).catch(fail);
    const core = new VisorCore({ fetched, config, logger, schema, index, catalogs, stores, stats, accessControl, invalidByScope: { shared: [...shared.problems, ...placement.problems.shared], private: [...priv.problems, ...placement.problems.private] }, snapshots: { shared: shared.snapshot, private: priv.snapshot }, siteTrust });
    const recovered = await core.ledger.recoverInterruptedUploads().catch(async (error: unknown) => {
      await core.close().catch(() => undefined);
      throw error;
    });
    if (recovered.length > 0) logger.warn({ images: recovered }, 'uploads interrupted by a stop were marked error');
    const earlier = await core.followedFiles.recordEarlierSyncs(index.all()).catch(async (error: unknown) => {
      await core.close().catch(() => undefined);
      throw error;
    });
    if (earlier > 0) logger.info({ images: earlier }, 'recorded the upstream of images synced before it was kept');
    core.follower.start();
    // The site's trust policy judges every image once, in slices, before lists need it.
    void core.siteTrust.warm(() => index.all(), () => core.stopping).catch((error: unknown) => logger.warn({ err: error }, 'judging images against the trust policy failed'));
    core.scanSchedule?.start();
    core.instanceKey = instanceKey;
    if (instanceKey && config.catalog.headValiditySeconds > 0) {
      const key = instanceKey;
      core.headPublisher = new HeadPublisher({ dir: catalogs.shared.dir, repository: catalogs.shared.writer.repository, key, instance: accessControl.identity.name, branch: catalogs.shared.writer.branchName, head: () => catalogs.shared.writer.headCommit, validitySeconds: config.catalog.headValiditySeconds, logger });
      core.headPublisher.start();
    }
    // The snapshot is saved on stop, not after a scan: serialising 100,000 records blocks the event
    // loop for a second and doubles memory just as the first requests arrive. After a crash, the next
    // start scans again.
    return core;
  }

  /**
   * Re-reads changed files of one catalogue into the index: the cost of an upstream change is the
   * change, not the catalogue. A record the other catalogue holds under the same id keeps that copy.
   */
  async reload(scope: CatalogScope, paths: string[]): Promise<void> {
    const dir = this.catalogs.of(scope).dir;
    // New statements, or a new endorser list: every judgement may change (a base's reaches its descendants).
    if (paths.some((p) => p.startsWith('endorsements/') || p.startsWith('trust/'))) this.siteTrust.invalidate();
    for (const path of paths) {
      const id = idFromPath(path);
      if (!id) continue;
      const current = this.index.get(id);
      if (current && scopeOf(current) !== scope) continue;
      const text = await readRecordText(join(dir, path));
      const checked = text === undefined ? undefined : checkRecordFile(this.schema, path, text);
      if (checked?.record) this.index.put(checked.record);
      else this.index.delete(id);
    }
  }

  /** After a sync of `upstream` changed these paths: the index, then the followed images' files. */
  private async synced(paths: string[], upstream: string): Promise<void> {
    await this.reload('shared', paths);
    // The sync itself is done and kept: bookkeeping of files that fails is logged, not reported as a failed sync.
    await this.followedFiles.synced(upstream, paths).catch((error: unknown) => this.logger.warn({ upstream, err: error }, 'recording followed images failed'));
  }

  async saveSnapshot(): Promise<void> {
    for (const scope of ['shared', 'private'] as const) {
      const records = [...this.index.all()].filter((r) => scopeOf(r) === scope);
      await this.snapshots[scope].save(this.catalogs.of(scope).writer.headCommit, records, this.invalidByScope[scope]);
    }
  }

  /** GET /health, as the caller may see it (src/service/coreHealth.ts). */
  health(who: Principal | undefined): Promise<HealthReport> {
    return coreHealth(who, { stores: this.storeDirectory, catalogs: this.catalogs, images: this.images, invalidFiles: this.invalidFiles.length });
  }

  /** Set by close(): background work (the trust policy's warming) stops. */
  private stopping = false;

  async close(): Promise<void> {
    this.stopping = true;
    // First: an upload stopped later would mark its failure after the catalogue closed.
    await this.uploads.stop();
    // Scans commit their verdicts: stopped (cut) before the catalogue closes.
    await this.scans.stop();
    await this.scanSchedule?.close();
    await this.followedFiles.close();
    await this.follower.close();
    await this.headPublisher?.close();
    this.staticView.close();
    await Promise.all([this.catalogs.shared.writer.close(), this.catalogs.of('private').writer.close()]);
    await this.stats.close();
    await this.accessControl.close();
    await this.saveSnapshot();
    for (const store of this.storeDirectory.stores.values()) await store.close();
  }
}

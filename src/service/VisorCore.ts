import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';
import type { Logger } from '../log/Logger.ts';
import { ImageSchema } from '../catalog/ImageSchema.ts';
import { CatalogIndex } from '../catalog/CatalogIndex.ts';
import { CatalogWriter } from '../catalog/CatalogWriter.ts';
import { initCatalog, isCatalog, configureCatalogRepo, forbidPushes } from '../catalog/CatalogRepo.ts';
import { checkRecordFile, type FileProblem, type ScanResult } from '../catalog/CatalogScanner.ts';
import { idFromPath } from '../catalog/CatalogLayout.ts';
import { dropScan } from '../catalog/ScanInFlight.ts';
import { sharedSnapshotPath, startEarlyScan } from './EarlyScan.ts';
import { UpstreamFollower } from '../sync/UpstreamFollower.ts';
import { StaticView } from '../catalog/StaticView.ts';
import { CatalogSnapshot } from '../catalog/CatalogSnapshot.ts';
import { GitRunner } from '../git/GitRunner.ts';
import { createStore } from '../store/createStore.ts';
import type { ImageStore, StoreHealth } from '../store/ImageStore.ts';
import { AccessStats } from '../tracking/AccessStats.ts';
import { ImageService } from './ImageService.ts';
import { AccessControl } from '../access/AccessControl.ts';
import { CatalogRepositories, scopeOf, type CatalogRepository, type CatalogScope } from '../catalog/CatalogRepositories.ts';

export interface CatalogHealth {
  path: string;
  head: string | undefined;
  images: number;
  invalid_files: number;
  commits: number;
  writes: number;
  private: { path: string; head: string | undefined; commits: number; writes: number };
}

interface OpenedCatalog extends ScanResult {
  repo: CatalogRepository;
  snapshot: CatalogSnapshot;
  source: 'snapshot' | 'scan';
}

/**
 * Opens (creating on first start) one catalogue repository and loads its records. Its git commands
 * all run before the load: a scan holds the event loop, and git commands after it would wait for
 * its end and then run one by one.
 */
async function openCatalog(scope: CatalogScope, dir: string, snapshotFile: string, schema: ImageSchema, logger: Logger): Promise<OpenedCatalog> {
  if (!(await isCatalog(dir))) {
    // A catalogue created now holds nothing that an early scan of the folder could have read.
    dropScan(dir);
    logger.info({ catalog: dir, scope }, 'creating a new catalogue');
    await initCatalog(dir);
  } else {
    await configureCatalogRepo(dir);
  }
  if (scope === 'private') await forbidPushes(dir);
  const git = new GitRunner(dir);
  const writer = new CatalogWriter(dir, git);
  await writer.open();
  const started = performance.now();
  const snapshot = new CatalogSnapshot(snapshotFile, dir, git, schema);
  const { records, problems, newestFirst, source, reread } = await snapshot.load();
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
  for (const [name, s] of Object.entries(config.stores)) {
    const store = await createStore(name, s);
    await store.init();
    stores.set(name, store);
  }
  return stores;
}

/** Everything the edges need, assembled from a configuration: the composition root. */
export class VisorCore {
  readonly config: VisorConfig;
  readonly service: ImageService;
  readonly stores: ReadonlyMap<string, ImageStore>;
  readonly invalidFiles: FileProblem[];
  readonly schema: ImageSchema;
  /** Accounts, grants, authentication, the audit log and reports. */
  readonly accessControl: AccessControl;
  readonly catalogs: CatalogRepositories;
  readonly follower: UpstreamFollower;
  readonly staticView: StaticView;
  readonly index: CatalogIndex;
  private readonly stats: AccessStats;
  private readonly snapshots: Record<CatalogScope, CatalogSnapshot>;
  private readonly invalidByScope: Record<CatalogScope, FileProblem[]>;

  private constructor(parts: { config: VisorConfig; service: ImageService; stores: Map<string, ImageStore>; catalogs: CatalogRepositories; stats: AccessStats; index: CatalogIndex; invalidByScope: Record<CatalogScope, FileProblem[]>; snapshots: Record<CatalogScope, CatalogSnapshot>; schema: ImageSchema; accessControl: AccessControl ; logger: Logger }) {
    this.config = parts.config;
    this.service = parts.service;
    this.stores = parts.stores;
    this.catalogs = parts.catalogs;
    this.staticView = new StaticView(parts.catalogs.shared.dir, () => parts.catalogs.shared.writer.headCommit);
    this.follower = new UpstreamFollower(parts.catalogs.shared, parts.config.upstreams, (paths) => this.reload('shared', paths), parts.logger);
    this.stats = parts.stats;
    this.index = parts.index;
    this.invalidByScope = parts.invalidByScope;
    this.invalidFiles = [...parts.invalidByScope.shared, ...parts.invalidByScope.private];
    this.snapshots = parts.snapshots;
    this.schema = parts.schema;
    this.accessControl = parts.accessControl;
  }

  /**
   * With no snapshot the shared catalogue is scanned in full: a worker starts on it at once (unless
   * the daemon began it earlier), while this thread compiles the schema and opens the rest, and this
   * thread joins it when ready.
   */
  static async open(config: VisorConfig, logger: Logger): Promise<VisorCore> {
    startEarlyScan(config);
    try {
      return await VisorCore.openWith(config, logger, sharedSnapshotPath(config));
    } finally {
      // A start that failed before its load took the scan over.
      dropScan(config.catalog.path);
    }
  }

  private static async openWith(config: VisorConfig, logger: Logger, sharedSnapshot: string): Promise<VisorCore> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const schema = new ImageSchema();
    const stats = new AccessStats(join(config.dataDir, 'access-stats.json'));
    let index: CatalogIndex | undefined;
    // Stores and access control open while the catalogues load: a first start's key hashing and git
    // spawns then overlap the scan instead of following it.
    const [[shared, priv], stores, accessControl] = await allSettled([
      allSettled([
        openCatalog('shared', config.catalog.path, sharedSnapshot, schema, logger),
        openCatalog('private', config.catalog.privatePath, join(config.dataDir, 'private-catalog-index.json'), schema, logger),
      ] as const),
      openStores(config),
      AccessControl.open(config, logger, { images: () => index?.all() ?? [], stats }),
    ] as const);
    index = new CatalogIndex(shared.records, shared.newestFirst);
    for (const r of priv.records) {
      // The same id in both: a move cut short by a stop. The private copy wins: never expose by accident.
      if (index.get(r.id)) logger.warn({ image: r.id }, 'image found in both catalogues; serving the private one');
      index.put(r);
    }
    index.warm();
    const catalogs = new CatalogRepositories(shared.repo, priv.repo, schema);
    const publicUrl = config.server.publicUrl || `${config.server.tls ? 'https' : 'http'}://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${config.server.port}`;
    const service = new ImageService({
      schema,
      index,
      catalogs,
      stores,
      defaultStore: config.defaultStore,
      stats,
      access: accessControl.access,
      grants: accessControl.grants,
      accounts: accessControl.accounts,
      maxUploadBytes: config.uploads.maxBytes,
      checksum: config.uploads.checksum,
      publicUrl,
      onUploadError: (id, error) => logger.warn({ image: id, err: error }, 'image file operation failed'),
    });
    const recovered = await service.recoverInterruptedUploads();
    if (recovered.length > 0) logger.warn({ images: recovered }, 'uploads interrupted by a stop were marked error');
    const core = new VisorCore({ config, service, stores, catalogs, stats, index, invalidByScope: { shared: shared.problems, private: priv.problems }, snapshots: { shared: shared.snapshot, private: priv.snapshot }, schema, accessControl, logger });
    core.follower.start();
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
    for (const path of paths) {
      const id = idFromPath(path);
      if (!id) continue;
      const current = this.index.get(id);
      if (current && scopeOf(current) !== scope) continue;
      const text = await readFile(join(dir, path), 'utf8').catch(() => undefined);
      const checked = text === undefined ? undefined : checkRecordFile(this.schema, path, text);
      if (checked?.record) this.index.put(checked.record);
      else this.index.delete(id);
    }
  }

  async saveSnapshot(): Promise<void> {
    for (const scope of ['shared', 'private'] as const) {
      const records = [...this.index.all()].filter((r) => scopeOf(r) === scope);
      await this.snapshots[scope].save(this.catalogs.of(scope).writer.headCommit, records, this.invalidByScope[scope]);
    }
  }

  catalogHealth(): CatalogHealth {
    const { shared, private: priv } = this.catalogs;
    return {
      path: shared.dir,
      head: shared.writer.headCommit,
      images: this.index.size,
      invalid_files: this.invalidFiles.length,
      commits: shared.writer.commits,
      writes: shared.writer.writes,
      private: { path: priv.dir, head: priv.writer.headCommit, commits: priv.writer.commits, writes: priv.writer.writes },
    };
  }

  async storeHealth(): Promise<Record<string, StoreHealth & { type: string }>> {
    const out: Record<string, StoreHealth & { type: string }> = {};
    // A store that does not answer in time is reported as such: /health must not hang on it.
    const timeout = (store: ImageStore) =>
      new Promise<StoreHealth>((resolve) => setTimeout(() => resolve({ ok: false, detail: `store ${store.name} (${store.type}): no answer to the health probe within 10 s` }), 10_000).unref());
    await Promise.all([...this.stores].map(async ([name, store]) => (out[name] = { type: store.type, ...(await Promise.race([store.health(), timeout(store)])) })));
    return out;
  }

  async close(): Promise<void> {
    await this.follower.close();
    this.staticView.close();
    await Promise.all([this.catalogs.shared.writer.close(), this.catalogs.of('private').writer.close()]);
    await this.stats.close();
    await this.accessControl.close();
    await this.saveSnapshot();
    for (const store of this.stores.values()) await store.close();
  }
}

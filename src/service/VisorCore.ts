import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';
import type { Logger } from '../log/Logger.ts';
import { ImageSchema } from '../catalog/ImageSchema.ts';
import { CatalogIndex } from '../catalog/CatalogIndex.ts';
import { CatalogWriter } from '../catalog/CatalogWriter.ts';
import { initCatalog, isCatalog, configureCatalogRepo } from '../catalog/CatalogRepo.ts';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { CatalogSnapshot } from '../catalog/CatalogSnapshot.ts';
import { GitRunner } from '../git/GitRunner.ts';
import { FsStore } from '../store/FsStore.ts';
import type { ImageStore, StoreHealth } from '../store/ImageStore.ts';
import { AccessStats } from '../tracking/AccessStats.ts';
import { ImageService } from './ImageService.ts';

export interface CatalogHealth {
  path: string;
  head: string | undefined;
  images: number;
  invalid_files: number;
  commits: number;
  writes: number;
}

/** Everything the edges need, assembled from a configuration: the composition root. */
export class VisorCore {
  readonly config: VisorConfig;
  readonly service: ImageService;
  readonly stores: ReadonlyMap<string, ImageStore>;
  readonly invalidFiles: FileProblem[];
  readonly schema: ImageSchema;
  private readonly writer: CatalogWriter;
  private readonly stats: AccessStats;
  private readonly index: CatalogIndex;
  private readonly snapshot: CatalogSnapshot;

  private constructor(parts: { config: VisorConfig; service: ImageService; stores: Map<string, ImageStore>; writer: CatalogWriter; stats: AccessStats; index: CatalogIndex; invalidFiles: FileProblem[]; snapshot: CatalogSnapshot; schema: ImageSchema }) {
    this.config = parts.config;
    this.service = parts.service;
    this.stores = parts.stores;
    this.writer = parts.writer;
    this.stats = parts.stats;
    this.index = parts.index;
    this.invalidFiles = parts.invalidFiles;
    this.snapshot = parts.snapshot;
    this.schema = parts.schema;
  }

  static async open(config: VisorConfig, logger: Logger): Promise<VisorCore> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const dir = config.catalog.path;
    if (!(await isCatalog(dir))) {
      logger.info({ catalog: dir }, 'creating a new catalogue');
      await initCatalog(dir);
    } else {
      await configureCatalogRepo(dir);
    }
    const schema = new ImageSchema();
    const started = performance.now();
    const git = new GitRunner(dir);
    const snapshot = new CatalogSnapshot(join(config.dataDir, 'catalog-index.json'), dir, git, schema);
    const { records, problems, source, reread } = await snapshot.load();
    for (const p of problems) logger.warn({ file: p.file, field: p.field, rule: p.rule }, `catalogue file skipped: ${p.message}`);
    const index = new CatalogIndex(records);
    index.warm();
    logger.info({ images: index.size, source, reread, ms: Math.round(performance.now() - started) }, 'catalogue loaded');

    const stores = new Map<string, ImageStore>();
    for (const [name, s] of Object.entries(config.stores)) {
      const store = new FsStore({ name, path: s.path, fsync: s.fsync });
      await store.init();
      stores.set(name, store);
    }
    const writer = new CatalogWriter(dir, git);
    await writer.open();
    const stats = new AccessStats(join(config.dataDir, 'access-stats.json'));
    const publicUrl = config.server.publicUrl || `http://${config.server.host.includes(':') ? `[${config.server.host}]` : config.server.host}:${config.server.port}`;
    const service = new ImageService({
      schema,
      index,
      writer,
      stores,
      defaultStore: config.defaultStore,
      stats,
      maxUploadBytes: config.uploads.maxBytes,
      checksum: config.uploads.checksum,
      publicUrl,
      onUploadError: (id, error) => logger.warn({ image: id, err: error }, 'image file operation failed'),
    });
    const recovered = await service.recoverInterruptedUploads();
    if (recovered.length > 0) logger.warn({ images: recovered }, 'uploads interrupted by a stop were marked error');
    const core = new VisorCore({ config, service, stores, writer, stats, index, invalidFiles: problems, snapshot, schema });
    // After a full scan, save at once (off the start-up path) so the next start is quick even after a crash.
    if (source === 'scan') setImmediate(() => void core.saveSnapshot().catch((e: unknown) => logger.warn({ err: e }, 'could not save the index snapshot')));
    return core;
  }

  saveSnapshot(): Promise<void> {
    return this.snapshot.save(this.writer.headCommit, this.index.all(), this.invalidFiles);
  }

  catalogHealth(): CatalogHealth {
    return { path: this.config.catalog.path, head: this.writer.headCommit, images: this.index.size, invalid_files: this.invalidFiles.length, commits: this.writer.commits, writes: this.writer.writes };
  }

  async storeHealth(): Promise<Record<string, StoreHealth & { type: string }>> {
    const out: Record<string, StoreHealth & { type: string }> = {};
    await Promise.all([...this.stores].map(async ([name, store]) => (out[name] = { type: store.type, ...(await store.health()) })));
    return out;
  }

  async close(): Promise<void> {
    await this.stats.close();
    await this.saveSnapshot();
  }
}

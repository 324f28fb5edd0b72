import type { HealthReport } from '../api/wire.ts';
import type { Principal } from '../auth/Principal.ts';
import type { CatalogRepositories } from '../catalog/CatalogRepositories.ts';
import type { StoreDirectory } from '../image-files/StoreDirectory.ts';
import type { ImageService } from '../images/ImageService.ts';

/** What /health shows admins of the catalogues. */
export interface CatalogHealth {
  [detail: string]: unknown;
  path: string;
  head: string | undefined;
  images: number;
  invalid_files: number;
  commits: number;
  writes: number;
  private: { path: string; head: string | undefined; commits: number; writes: number };
}

/**
 * GET /health: 'ok' when every store answers a real write and read. Admins get every detail; others
 * the status, the images they may see and each store's ok — counts of private images and of private
 * writes would tell them such images exist.
 */
export async function coreHealth(who: Principal | undefined, core: { stores: StoreDirectory; catalogs: CatalogRepositories; images: ImageService; invalidFiles: number }): Promise<HealthReport> {
  const stores = await core.stores.health();
  const status = Object.values(stores).every((s) => s.ok) ? 'ok' : 'degraded';
  const { shared, private: priv } = core.catalogs;
  if (!who?.admin) {
    return { status, catalog: { head: shared.writer.headCommit, images: core.images.countVisible(who) }, stores: Object.fromEntries(Object.entries(stores).map(([name, s]) => [name, { type: s.type, ok: s.ok }])) };
  }
  const catalog: CatalogHealth = {
    path: shared.dir,
    head: shared.writer.headCommit,
    images: core.images.size,
    invalid_files: core.invalidFiles,
    commits: shared.writer.commits,
    writes: shared.writer.writes,
    private: { path: priv.dir, head: priv.writer.headCommit, commits: priv.writer.commits, writes: priv.writer.writes },
  };
  return { status, catalog, stores };
}

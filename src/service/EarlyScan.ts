import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';
import { IMAGES_DIR } from '../catalog/CatalogLayout.ts';
import { ParallelScan } from '../catalog/ParallelScan.ts';

/** Where the daemon keeps the shared catalogue's index between runs. */
export function sharedSnapshotPath(config: VisorConfig): string {
  return join(config.dataDir, 'catalog-index.json');
}

/**
 * The full scan of the shared catalogue that a start with no index snapshot will need, begun now on
 * a worker. This module loads little on purpose: the daemon starts it before loading the rest of
 * itself (~100 ms), and the scan is most of a first start.
 */
export function startEarlyScan(config: VisorConfig): ParallelScan | undefined {
  return !existsSync(sharedSnapshotPath(config)) && existsSync(join(config.catalog.path, IMAGES_DIR)) ? new ParallelScan(config.catalog.path) : undefined;
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';
import { IMAGES_DIR } from '../catalog/CatalogLayout.ts';
import { beginScan } from '../catalog/ScanInFlight.ts';

/** Where the daemon keeps the shared catalogue's index between runs. */
export function sharedSnapshotPath(config: VisorConfig): string {
  return join(config.dataDir, 'catalog-index.json');
}

/**
 * Begins the full scan of the shared catalogue that a start with no index snapshot will need, on a
 * worker; the catalogue's load takes it over (src/catalog/ScanInFlight.ts). This module loads little
 * on purpose: the daemon calls it before loading the rest of itself (~100 ms), and the scan is most
 * of a first start.
 */
export function startEarlyScan(config: VisorConfig): void {
  if (!existsSync(sharedSnapshotPath(config)) && existsSync(join(config.catalog.path, IMAGES_DIR))) beginScan(config.catalog.path);
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';
import { IMAGES_DIR } from '../catalog/CatalogLayout.ts';
import { beginScan, dropScan } from '../catalog/ScanInFlight.ts';

/** Where the daemon keeps the shared catalogue's index between runs. */
export function sharedSnapshotPath(config: VisorConfig): string {
  return join(config.dataDir, 'catalog-index.json');
}

/** Where the daemon keeps the private catalogue's index between runs. */
export function privateSnapshotPath(config: VisorConfig): string {
  return join(config.dataDir, 'private-catalog-index.json');
}

/** Each catalogue a start loads, with its index snapshot. */
function catalogues(config: VisorConfig): Array<[dir: string, snapshot: string]> {
  return [
    [config.catalog.path, sharedSnapshotPath(config)],
    [config.catalog.privatePath, privateSnapshotPath(config)],
  ];
}

/**
 * Begins the full scan of each catalogue that a start with no index snapshot will need, on a worker
 * each; the catalogue's load takes it over (src/catalog/ScanInFlight.ts). This module loads little
 * on purpose: the daemon calls it before loading the rest of itself (~100 ms), and the scans are most
 * of a first start. Both catalogues alike: the private one's scan, left to its load, began seconds
 * after the shared one's (~10,000 records beside 90,000; the start's time measured the same).
 */
export function startEarlyScan(config: VisorConfig): void {
  for (const [dir, snapshot] of catalogues(config)) if (!existsSync(snapshot) && existsSync(join(dir, IMAGES_DIR))) beginScan(dir);
}

/** Stops the early scans nobody took over (the start failed first). */
export function dropEarlyScans(config: VisorConfig): void {
  for (const [dir] of catalogues(config)) dropScan(dir);
}

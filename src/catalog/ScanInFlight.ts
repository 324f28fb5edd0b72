import { resolve } from 'node:path';
import { ParallelScan } from './ParallelScan.ts';
import type { ImageSchema } from './ImageSchema.ts';

/**
 * Full scans begun ahead of need, by catalogue folder: the one seam between whoever begins a scan
 * early (a first start begins it before the daemon's modules load, ~100 ms sooner) and the load that
 * takes it over (CatalogSnapshot.load). Nothing else passes a scan around.
 */
const inFlight = new Map<string, ParallelScan>();

export function beginScan(dir: string): void {
  const key = resolve(dir);
  if (!inFlight.has(key)) inFlight.set(key, new ParallelScan(key));
}

/**
 * This thread starts its part of a scan begun for `dir`, if there is one, without waiting for it:
 * the opener's git steps (configuration, the working tree's status) then run between its slices
 * instead of leaving this thread idle while only the worker reads. The load takes it over as before.
 */
export function joinScan(dir: string, schema: ImageSchema): void {
  // A scan dropped later rejects; its taker, if any, sees that, and nobody else must.
  inFlight.get(resolve(dir))?.join(schema).catch(() => undefined);
}

/** The scan begun for `dir`, or a new one: the caller now owns it. */
export function takeScan(dir: string): ParallelScan {
  const key = resolve(dir);
  const scan = inFlight.get(key);
  inFlight.delete(key);
  return scan ?? new ParallelScan(key);
}

/** Stops a scan begun for `dir` that nobody will take (a snapshot was current, the start failed). */
export function dropScan(dir: string): void {
  const key = resolve(dir);
  inFlight.get(key)?.cancel();
  inFlight.delete(key);
}

import type { ImageRecord } from '../api/ImageRecord.ts';
import { invalidField } from '../errors/VisorError.ts';
import { assertAdmin } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import type { ImageStore, IncompleteWrite, ObjectStat } from '../store/ImageStore.ts';
import type { GcReport } from '../api/wire.ts';

export type { GcReport };

export interface GcOptions {
  /** Leftovers younger than this are left alone: they may belong to a write still running elsewhere. */
  olderThanMs: number;
  /** Report only. */
  dryRun: boolean;
  /** Also delete objects that no image location names (off by default: a bucket may be shared). */
  unreferenced: boolean;
}

/**
 * `visor store gc`: finds what crashed writes left in a store (unfinished multipart uploads, segments
 * no manifest names, temporary files) and the objects of uploads that failed (an image in `error` that
 * no image names as a location), and removes them; optionally, any object no image points to.
 */
export class StoreCollector {
  private readonly stores: ReadonlyMap<string, ImageStore>;
  private readonly images: () => Iterable<ImageRecord>;
  private readonly busy: () => ReadonlySet<string>;

  constructor(options: { stores: ReadonlyMap<string, ImageStore>; images: () => Iterable<ImageRecord>; busy: () => ReadonlySet<string> }) {
    this.stores = options.stores;
    this.images = options.images;
    this.busy = options.busy;
  }

  /** Admins only: gc deletes objects. */
  async collect(who: Principal | undefined, name: string, options: GcOptions): Promise<GcReport> {
    assertAdmin(who, 'collect store garbage');
    const store = this.stores.get(name);
    if (!store) throw invalidField('store', 'exists', `one of the configured stores: ${[...this.stores.keys()].join(', ')}`);
    const cutoff = Date.now() - options.olderThanMs;
    const old = (d: Date | undefined) => d === undefined || d.getTime() <= cutoff;
    const report: GcReport = { store: name, type: store.type, dry_run: options.dryRun, incomplete: [], unreferenced: [], errors: [] };

    const leftovers: IncompleteWrite[] = [];
    for await (const w of store.incompleteWrites()) if (old(w.started) && !this.busy().has(w.key)) leftovers.push(w);
    for (const w of leftovers) {
      let removed = false;
      if (!options.dryRun) {
        try {
          await store.discardIncomplete(w);
          removed = true;
        } catch (e) {
          report.errors.push((e as Error).message);
        }
      }
      report.incomplete.push({ key: w.key, id: w.id, ...(w.started ? { started: w.started.toISOString() } : {}), ...(w.bytes !== undefined ? { bytes: w.bytes } : {}), removed });
    }

    const referenced = new Set<string>();
    for (const r of this.images()) for (const l of r.locations ?? []) if (l.store === name) referenced.add(l.key);
    const orphans: ObjectStat[] = [];
    if (store.writable) {
      // What a failed or crashed upload left: an object under the id of an image in `error` (the key
      // VISOR writes an upload to) that no image names. VISOR's own, so always collected, shared bucket
      // or not; an upload that is running again is busy and left alone.
      for (const r of this.images()) {
        if (r.status !== 'error' || referenced.has(r.id) || this.busy().has(r.id)) continue;
        const o = await store.stat(r.id).catch((e: unknown) => void report.errors.push((e as Error).message));
        if (o && old(o.modified)) orphans.push(o);
      }
    }
    if (options.unreferenced && store.writable) {
      const failed = new Set(orphans.map((o) => o.key));
      for await (const o of store.list()) if (!referenced.has(o.key) && !failed.has(o.key) && !this.busy().has(o.key) && old(o.modified)) orphans.push(o);
    }
    for (const o of orphans) {
      let removed = false;
      if (!options.dryRun) {
        try {
          // Looked at again just before: an upload retried since the listing (busy now, or done,
          // its object rewritten) keeps what it wrote.
          const now = await store.stat(o.key);
          const unchanged = now !== undefined && now.size === o.size && now.modified?.getTime() === o.modified?.getTime();
          if (!unchanged || this.busy().has(o.key) || this.isNamed(name, o.key)) continue;
          await store.delete(o.key);
          removed = true;
        } catch (e) {
          report.errors.push((e as Error).message);
        }
      }
      report.unreferenced.push({ key: o.key, size: o.size, ...(o.modified ? { modified: o.modified.toISOString() } : {}), removed });
    }
    return report;
  }

  private isNamed(store: string, key: string): boolean {
    for (const r of this.images()) if (r.locations?.some((l) => l.store === store && l.key === key)) return true;
    return false;
  }
}

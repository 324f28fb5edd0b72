import type { Readable } from 'node:stream';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { invalidField } from '../errors/VisorError.ts';
import type { ImageCopier } from '../image-files/ImageCopier.ts';
import type { StoreDirectory } from '../image-files/StoreDirectory.ts';
import type { ImageUploads } from '../image-files/ImageUploads.ts';
import type { WebDownloads } from '../image-files/WebDownloads.ts';

/** Glance's `GET /v2/info/stores` answer. */
export interface GlanceStoreInfo {
  stores: { id: string; description: string; default?: 'true'; 'read-only'?: 'true' }[];
}

/**
 * Glance v2's interoperable import over VISOR's core: glance-direct publishes a file staged through
 * the one upload path, web-download fetches one through it (src/image-files/WebDownloads.ts), and
 * copy-image copies an active image's file to other stores with the core's copier. An accepted
 * web-download or copy-image runs after the 202, as in Glance; the image's status tells how it went.
 */
export class GlanceImports {
  private readonly o: { uploads: ImageUploads; webDownloads: WebDownloads; copier: ImageCopier; stores: StoreDirectory; onError: (id: string, error: unknown) => void };

  constructor(options: { uploads: ImageUploads; webDownloads: WebDownloads; copier: ImageCopier; stores: StoreDirectory; onError: (id: string, error: unknown) => void }) {
    this.o = options;
  }

  /** The methods built here; copy-image only where there is another store to copy to. */
  methods(): string[] {
    return ['glance-direct', 'web-download', ...(this.multiStore() ? ['copy-image'] : [])];
  }

  multiStore(): boolean {
    return this.o.stores.stores.size > 1;
  }

  /** VISOR's stores as Glance lists them; undefined with one store (Glance then answers 404). */
  storeInfo(who: Principal | undefined): GlanceStoreInfo | undefined {
    const listing = this.o.stores.list(who);
    if (!this.multiStore()) return undefined;
    return {
      stores: listing.stores.map((s) => ({
        id: s.name,
        description: `VISOR store ${s.name} (${s.type})`,
        ...(s.name === listing.default ? { default: 'true' as const } : {}),
        ...(s.writable ? {} : { 'read-only': 'true' as const }),
      })),
    };
  }

  /** Stages a file for glance-direct: stored, hashed, inspected and scanned; published by the import. */
  async stage(id: string, body: Readable, length: number | undefined, caller: Principal | undefined): Promise<void> {
    await this.o.uploads.upload(id, body, { clientDigests: true, stage: true, importMethod: 'glance-direct', ...(length !== undefined ? { length } : {}) }, caller);
  }

  /** Starts an import as Glance's body asks: throws (nothing started) for a refused one. */
  async start(id: string, body: unknown, caller: Principal | undefined): Promise<void> {
    const who = assertSignedIn(caller);
    const method = (body as { method?: { name?: unknown; uri?: unknown } } | null)?.method;
    const name = method?.name;
    if (typeof name !== 'string' || !this.methods().includes(name)) throw invalidField('method.name', 'enum', `one of ${this.methods().join(', ')}`);
    if (name === 'glance-direct') {
      await this.o.uploads.publishStaged(id, who);
    } else if (name === 'web-download') {
      this.o.uploads.admitImport(id, who);
      this.o.webDownloads.assertCapacity();
      const url = await this.o.webDownloads.admit(method?.uri);
      this.o.webDownloads.download(id, url, who, { method: name }).catch((e: unknown) => this.o.onError(id, e));
    } else {
      const targets = this.copyTargets(body as { stores?: unknown; all_stores?: unknown });
      this.o.copier.admit(id, who);
      void (async () => {
        for (const to of targets) await this.o.copier.copy(id, { to }, who);
      })().catch((e: unknown) => this.o.onError(id, e));
    }
  }

  /** copy-image's stores: those named, or all (`all_stores`) but the ones the image is in already. */
  private copyTargets(body: { stores?: unknown; all_stores?: unknown }): string[] {
    const known = [...this.o.stores.stores.keys()];
    if (body.all_stores === true) return known.filter((s) => this.o.stores.stores.get(s)!.writable);
    if (!Array.isArray(body.stores) || body.stores.length === 0 || body.stores.some((s) => typeof s !== 'string' || !known.includes(s))) {
      throw invalidField('stores', 'exists', `a list of VISOR stores (${known.join(', ')}), or all_stores: true`);
    }
    return body.stores as string[];
  }
}

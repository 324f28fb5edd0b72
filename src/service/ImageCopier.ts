import { Writable } from 'node:stream';
import type { ImageLocation, ImageRecord } from '../catalog/ImageRecord.ts';
import type { DigestAlgorithm } from '../config/VisorConfig.ts';
import { conflict, invalidField, VisorError } from '../errors/VisorError.ts';
import type { Principal } from '../auth/Principal.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { readOnlyStore } from '../store/storeErrors.ts';
import type { ImageService } from './ImageService.ts';
import { hashedCopy } from './UploadHasher.ts';

export interface CopyOptions {
  /** Store instance to copy to. */
  to: string;
  /** Drop the other locations (and their objects) once the copy is in the catalogue. */
  move?: boolean;
  signal?: AbortSignal;
}

/** The digest of a stream, read to its end: bytes go nowhere. */
export async function digestOf(stream: NodeJS.ReadableStream & AsyncIterable<unknown>, algorithm: DigestAlgorithm, limit: number): Promise<{ bytes: number; checksum: string }> {
  return hashedCopy(stream as never, new Writable({ write: (_c, _e, cb) => cb() }), algorithm, limit);
}

export function algorithmOf(checksum: string): DigestAlgorithm {
  return checksum.startsWith('sha512:') ? 'sha512' : 'sha256';
}

/**
 * Copies and moves image files between stores (cross-infrastructure): streams from the first healthy
 * location into the target store, verifies size and digest on arrival before the object is published,
 * then records the new location (a commit). Safe to interrupt and run again: an unpublished write
 * leaves nothing visible (gc removes its parts), and an object already in the target with the right
 * digest is adopted rather than sent again.
 */
export class ImageCopier {
  private readonly service: ImageService;
  private readonly stores: ReadonlyMap<string, ImageStore>;
  private readonly onCleanupError: (id: string, error: unknown) => void;

  constructor(options: { service: ImageService; stores: ReadonlyMap<string, ImageStore>; onCleanupError?: (id: string, error: unknown) => void }) {
    this.service = options.service;
    this.stores = options.stores;
    this.onCleanupError = options.onCleanupError ?? (() => undefined);
  }

  async copy(id: string, options: CopyOptions, caller: Principal | undefined): Promise<ImageRecord> {
    if (typeof options.to !== 'string' || !this.stores.has(options.to)) {
      throw invalidField('to', 'exists', `one of the configured stores: ${[...this.stores.keys()].join(', ')}`);
    }
    if (options.move !== undefined && typeof options.move !== 'boolean') throw invalidField('move', 'type', 'true or false');
    const target = this.stores.get(options.to)!;
    if (!target.writable) throw readOnlyStore(target);
    return this.service.withFileWork(id, caller, async (current, who) => {
      if (current.status !== 'available' || current.size === undefined || current.checksum === undefined) {
        throw conflict(`image ${id} is ${current.status}; only an available image can be copied`);
      }
      let record = current;
      if (!(current.locations ?? []).some((l) => l.store === target.name)) {
        const location: ImageLocation = { store: target.name, key: id };
        await this.transfer(current, target, location.key, options.signal);
        record = await this.service.changeRecord(id, who, (r) => ({ ...r, locations: [...(r.locations ?? []), location], updated_at: new Date().toISOString() }), `Copy image ${id} to store ${target.name}`);
      }
      if (options.move) {
        const dropped = (record.locations ?? []).filter((l) => l.store !== target.name);
        const kept = (record.locations ?? []).filter((l) => l.store === target.name);
        if (dropped.length > 0 || record.store !== target.name) {
          record = await this.service.changeRecord(id, who, (r) => ({ ...r, store: target.name, locations: kept, updated_at: new Date().toISOString() }), `Move image ${id} to store ${target.name}`);
        }
        for (const l of dropped) {
          // The catalogue no longer points there; an object a store failed to delete is found by store gc.
          await this.stores.get(l.store)?.delete(l.key).catch((e: unknown) => this.onCleanupError(id, e));
        }
      }
      return record;
    });
  }

  /** Puts the image's bytes under `key` in `target`, verified; reuses a verified object already there. */
  private async transfer(image: ImageRecord, target: ImageStore, key: string, signal?: AbortSignal): Promise<void> {
    const size = image.size!;
    const checksum = image.checksum!;
    const algorithm = algorithmOf(checksum);
    const existing = await target.stat(key).catch(() => undefined);
    if (existing?.size === size) {
      const there = await target.read(key, undefined, signal).then((s) => digestOf(s, algorithm, size), () => undefined).catch(() => undefined);
      if (there?.checksum === checksum) return;
    }
    const sources = (image.locations ?? []).filter((l) => l.store !== target.name);
    const { stream, location } = await this.service.failover.open(sources, undefined, signal);
    const write = await target.write(key, { expectedSize: size, ...(signal ? { signal } : {}) });
    try {
      const copied = await hashedCopy(stream, write.stream, algorithm, size).catch((e: unknown) => {
        throw e instanceof VisorError && e.kind === 'too_large' ? mismatch(image, location, target, `more than ${size} bytes`) : e;
      });
      if (copied.bytes !== size) throw mismatch(image, location, target, `${copied.bytes} bytes instead of ${size}`);
      if (copied.checksum !== checksum) throw mismatch(image, location, target, `digest ${copied.checksum} instead of ${checksum}`);
      await write.commit();
    } catch (e) {
      stream.destroy();
      await write.abort();
      throw e;
    }
  }
}

function mismatch(image: ImageRecord, from: ImageLocation, to: ImageStore, what: string): VisorError {
  return new VisorError('unavailable', `copy of image ${image.id} to store ${to.name} refused: store ${from.store} gave ${what}; nothing was published`);
}

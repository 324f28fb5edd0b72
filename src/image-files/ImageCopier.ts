import type { ImageLocation, ImageRecord } from '../api/ImageRecord.ts';
import { conflict, invalidField, VisorError } from '../errors/VisorError.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { readOnlyStore, storeFailureOf } from '../store/storeErrors.ts';
import type { ImageBytes } from './ImageBytes.ts';
import { algorithmOf, digestOf, hashedCopy } from './HashedCopy.ts';
import type { StoredObjects } from './StoredObjects.ts';

export interface CopyOptions {
  /** Store instance to copy to. */
  to: string;
  /** Drop the other locations (and their objects) once the copy is in the catalogue. */
  move?: boolean;
  signal?: AbortSignal;
}

/**
 * Copies and moves image files between stores (cross-infrastructure): streams from the first healthy
 * location into the target store, verifies size and digest on arrival before the object is published,
 * then records the new location (a commit). Safe to interrupt and run again: an unpublished write
 * leaves nothing visible (gc removes its parts), and an object already in the target with the right
 * digest is adopted rather than sent again.
 */
export class ImageCopier {
  private readonly o: { ledger: ImageLedger; stores: ReadonlyMap<string, ImageStore>; bytes: ImageBytes; objects: StoredObjects };

  constructor(options: { ledger: ImageLedger; stores: ReadonlyMap<string, ImageStore>; bytes: ImageBytes; objects: StoredObjects }) {
    this.o = options;
  }

  /** Throws unless the caller may copy the image's file now (its owner or an admin, and the image available). */
  admit(id: string, caller: Principal | undefined): void {
    const current = this.o.ledger.find(id, assertSignedIn(caller), 'manage');
    if (current.status !== 'available') throw conflict(`image ${id} is ${current.status}; only an available image can be copied`);
  }

  async copy(id: string, options: CopyOptions, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const { stores, ledger } = this.o;
    if (typeof options.to !== 'string' || !stores.has(options.to)) {
      throw invalidField('to', 'exists', `one of the configured stores: ${[...stores.keys()].join(', ')}`);
    }
    if (options.move !== undefined && typeof options.move !== 'boolean') throw invalidField('move', 'type', 'true or false');
    const target = stores.get(options.to)!;
    if (!target.writable) throw readOnlyStore(target);
    return ledger.withFile(id, who, 'manage', async (current) => {
      if (current.status !== 'available' || current.size === undefined || current.checksum === undefined) {
        throw conflict(`image ${id} is ${current.status}; only an available image can be copied`);
      }
      let record = current;
      if (!(current.locations ?? []).some((l) => l.store === target.name)) {
        const location: ImageLocation = { store: target.name, key: id };
        await this.transfer(current, target, location.key, options.signal);
        record = await ledger.change(id, who, (r) => ({ ...r, locations: [...(r.locations ?? []), location], updated_at: new Date().toISOString() }), `Copy image ${id} to store ${target.name}`);
      }
      if (options.move) {
        const dropped = (record.locations ?? []).filter((l) => l.store !== target.name);
        const kept = (record.locations ?? []).filter((l) => l.store === target.name);
        if (dropped.length > 0 || record.store !== target.name) {
          record = await ledger.change(id, who, (r) => ({ ...r, store: target.name, locations: kept, updated_at: new Date().toISOString() }), `Move image ${id} to store ${target.name}`);
        }
        // The catalogue no longer points there.
        await this.o.objects.discard(id, dropped);
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
      const there = await target.read(key, undefined, signal).then(
        (s) => digestOf(s, algorithm, size, { signal }).finally(() => s.destroy()),
        () => undefined,
      ).catch(() => undefined);
      if (there?.checksum === checksum) return;
    }
    const sources = this.o.ledger.ownLocations(image, (s) => this.o.stores.get(s)?.writable).filter((l) => l.store !== target.name);
    const { stream, location } = await this.o.bytes.openStream(sources, undefined, signal);
    const write = await target.write(key, { expectedSize: size, ...(signal ? { signal } : {}) }).catch((e: unknown) => {
      stream.destroy();
      throw e;
    });
    try {
      const source = this.o.stores.get(location.store)!;
      // Each end's failure is its store's: a raw reset becomes that store's unavailable, not a 500.
      const blame = { source: (e: unknown) => storeFailureOf(source, `read of ${location.key}`, e), sink: (e: unknown) => storeFailureOf(target, `write of ${key}`, e) };
      const copied = await hashedCopy(stream, write.stream, algorithm, size, { signal, blame }).catch((e: unknown) => {
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

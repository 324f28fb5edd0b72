import type { ImageRecord } from '../api/ImageRecord.ts';
import { assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, VisorError } from '../errors/VisorError.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import { FormatInspection } from '../inspection/FormatInspection.ts';
import { verdictOn, type InspectionPolicy } from '../inspection/InspectionVerdict.ts';
import type { ImageStore } from '../store/ImageStore.ts';
import { algorithmOf, digestOf } from './HashedCopy.ts';
import type { ImageBytes } from './ImageBytes.ts';

/**
 * Format inspection on demand, for images whose file predates the inspector (`visor inspect`): the
 * file is read once through the image's store, checked against its recorded size and digest, and
 * judged by the same rules as an upload. An accepted file's findings are recorded; a refused one
 * leaves the image in `error` (no longer served), the reason in its history, its file kept for its
 * owner or an admin to look at or delete.
 */
export class ImageInspections {
  private readonly o: { ledger: ImageLedger; stores: ReadonlyMap<string, ImageStore>; bytes: ImageBytes; inspection: InspectionPolicy };

  constructor(options: { ledger: ImageLedger; stores: ReadonlyMap<string, ImageStore>; bytes: ImageBytes; inspection: InspectionPolicy }) {
    this.o = options;
  }

  /** Owner or admin only: the verdict changes the record, and a refusal takes the image out of service. */
  async inspect(id: string, caller: Principal | undefined): Promise<ImageRecord> {
    const who = assertSignedIn(caller);
    const { ledger, stores, bytes } = this.o;
    return ledger.withFile(id, who, 'manage', async (current) => {
      if (current.status !== 'available' || current.size === undefined || current.checksum === undefined) {
        throw conflict(`image ${id} is ${current.status}; only an available image's file can be inspected`);
      }
      const size = current.size;
      const sources = ledger.ownLocations(current, (s) => stores.get(s)?.writable);
      const { stream, location } = await bytes.openStream(sources);
      const inspection = new FormatInspection();
      const seen = await digestOf(stream, algorithmOf(current.checksum), size, { observe: (chunk) => inspection.push(chunk) }).catch((e: unknown) => {
        throw e instanceof VisorError && e.kind === 'too_large' ? changed(id, location.store, `more than ${size} bytes`) : e;
      });
      if (seen.bytes !== size) throw changed(id, location.store, `${seen.bytes} bytes instead of ${size}`);
      if (seen.checksum !== current.checksum) throw changed(id, location.store, `digest ${seen.checksum} instead of ${current.checksum}`);
      let found;
      try {
        found = verdictOn(inspection.finish(), current.disk, this.o.inspection);
      } catch (e) {
        // Recovery of a kind: never refused by a rule (the record may contradict the file, which is the point).
        await ledger.locked(id, async () => {
          const now = ledger.current(id);
          if (now) await ledger.commit({ ...now, status: 'error', updated_at: new Date().toISOString() }, who, `Inspection of image ${id} refused its file: ${(e as Error).message}`);
        });
        throw e;
      }
      const now = new Date().toISOString();
      return ledger.change(id, who, (r) => ({ ...r, virtual_size: found.virtual_size, inspection: found, updated_at: now }), `Inspect image ${id}: ${found.format} of virtual size ${found.virtual_size}`);
    });
  }
}

function changed(id: string, store: string, what: string): VisorError {
  return new VisorError('unavailable', `the file of image ${id} in store ${store} is not the one recorded (${what}): nothing was recorded`);
}

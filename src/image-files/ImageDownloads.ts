import type { ImageRecord, ImageView } from '../api/ImageRecord.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, forbidden } from '../errors/VisorError.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import type { ImageViews } from '../images/ImageViews.ts';
import type { ByteRange } from '../store/ImageStore.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';
import type { ByteSource, ImageBytes } from './ImageBytes.ts';
import type { FollowedPlan } from '../sync/FollowedFiles.ts';
import { isQuarantined, quarantined } from '../scanning/Quarantine.ts';

/** How a followed image's file is served (src/sync/FollowedFiles.ts); undefined for an image that is not followed. */
export type FollowedFilePlanner = (r: ImageRecord) => FollowedPlan | undefined;

export interface Download {
  image: ImageView;
  size: number;
  range?: ByteRange;
  /**
   * Opens the first location that answers; `positional` where the caller can send from a reader at
   * offsets. Opening a download from the first byte counts as an access.
   */
  open(options?: { signal?: AbortSignal; positional?: boolean }): Promise<ByteSource>;
}

/** Plans downloads: who may read which image's file, which range, and from where. */
export class ImageDownloads {
  private readonly o: { ledger: ImageLedger; views: ImageViews; bytes: ImageBytes; stats: AccessStats; followed?: FollowedFilePlanner };

  constructor(options: { ledger: ImageLedger; views: ImageViews; bytes: ImageBytes; stats: AccessStats; followed?: FollowedFilePlanner }) {
    this.o = options;
  }

  /**
   * Locates an image's file; `pickRange` turns its size into the byte range to send (the edge owns
   * Range header syntax). Nothing is opened until open(), so HEAD costs no file handle.
   */
  prepare(id: string, caller: Principal | undefined, pickRange: (size: number, checksum: string) => ByteRange | undefined): Download {
    const r = this.o.ledger.findDownloadable(id, caller);
    if (r.status !== 'available' || r.size === undefined || r.checksum === undefined) throw conflict(`image ${id} is ${r.status}; its file can be downloaded once it is available`);
    if (r.deactivated !== undefined && caller?.admin !== true) throw forbidden(`image ${id} is deactivated: its file is served again once an admin reactivates it`);
    // Only its owner and admins get this far (ImageAccess): even they are not served an infected file.
    if (isQuarantined(r)) throw quarantined(r);
    // A followed image is served from the copy this instance fetched, never from what its record
    // names: those are the upstream's stores, whatever their names here.
    const followed = this.o.followed?.(r);
    const locations = followed ? (followed.kind === 'local' ? [followed.location] : []) : this.o.bytes.order(this.o.ledger.ownLocations(r, (s) => this.o.bytes.writable(s)));
    if (locations.length === 0 && followed?.kind !== 'fetch') throw conflict(`image ${id} has no location in a store this daemon has`);
    const range = pickRange(r.size, r.checksum);
    return {
      image: this.o.views.view(r),
      size: r.size,
      ...(range ? { range } : {}),
      open: async (options = {}) => {
        let source: ByteSource;
        if (followed?.kind === 'fetch') {
          // A miss: the whole file is fetched; a range is served from the copy once it is kept.
          const fetched = await followed.fetch({ stream: !range });
          source = 'stream' in fetched ? { kind: 'stream', stream: fetched.stream, location: fetched.location } : await this.o.bytes.open([fetched.location], { range, ...options });
        } else {
          source = await this.o.bytes.open(locations, { range, ...options });
        }
        if (!range || range.start === 0) this.o.stats.record(id);
        return source;
      },
    };
  }
}

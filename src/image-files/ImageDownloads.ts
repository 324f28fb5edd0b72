import type { ImageView } from '../api/ImageRecord.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict } from '../errors/VisorError.ts';
import type { ImageLedger } from '../images/ImageLedger.ts';
import type { ImageViews } from '../images/ImageViews.ts';
import type { ByteRange } from '../store/ImageStore.ts';
import type { AccessStats } from '../tracking/AccessStats.ts';
import type { ByteSource, ImageBytes } from './ImageBytes.ts';

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
  private readonly o: { ledger: ImageLedger; views: ImageViews; bytes: ImageBytes; stats: AccessStats };

  constructor(options: { ledger: ImageLedger; views: ImageViews; bytes: ImageBytes; stats: AccessStats }) {
    this.o = options;
  }

  /**
   * Locates an image's file; `pickRange` turns its size into the byte range to send (the edge owns
   * Range header syntax). Nothing is opened until open(), so HEAD costs no file handle.
   */
  prepare(id: string, caller: Principal | undefined, pickRange: (size: number, checksum: string) => ByteRange | undefined): Download {
    const r = this.o.ledger.find(id, caller);
    if (r.status !== 'available' || r.size === undefined || r.checksum === undefined) throw conflict(`image ${id} is ${r.status}; its file can be downloaded once it is available`);
    const locations = this.o.bytes.order(this.o.ledger.ownLocations(r, (s) => this.o.bytes.writable(s)));
    if (locations.length === 0) throw conflict(`image ${id} has no location in a store this daemon has`);
    const range = pickRange(r.size, r.checksum);
    return {
      image: this.o.views.view(r),
      size: r.size,
      ...(range ? { range } : {}),
      open: async (options = {}) => {
        const source = await this.o.bytes.open(locations, { range, ...options });
        if (!range || range.start === 0) this.o.stats.record(id);
        return source;
      },
    };
  }
}

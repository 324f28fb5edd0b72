import { MAX_REGION_BYTES, type CapturedBytes, type Region } from './FormatReader.ts';

/** How many bytes at the end of the file are kept: the VMDK stream-optimized footer (three sectors). */
export const TAIL_BYTES = 1536;
/** At most this many regions per file: readers ask for a handful; a hostile header cannot make it more. */
const MAX_REGIONS = 32;

class Capture {
  readonly data: Buffer;
  /** Bytes captured contiguously from the region's start. */
  filled = 0;
  /** The stream passed the region's start before it was asked for: it can never be complete. */
  missed = false;
  readonly offset: number;
  readonly length: number;
  constructor(offset: number, length: number) {
    this.offset = offset;
    this.length = length;
    this.data = Buffer.alloc(length);
  }
  get done(): boolean {
    return this.missed || this.filled === this.length;
  }
}

/**
 * The regions of a streamed file that readers asked for, and a ring of its last bytes. Each chunk is
 * looked at only where a pending region overlaps it (a copy, never a loop over bytes), and once every
 * region is complete a chunk costs a counter and the copy of at most TAIL_BYTES into the ring.
 */
export class CapturedRegions implements CapturedBytes {
  private readonly captures = new Map<string, Capture>();
  private pending: Capture[] = [];
  private position = 0;
  private ended = false;
  private readonly ring = Buffer.alloc(TAIL_BYTES);
  private ringFilled = 0;

  get size(): number | undefined {
    return this.ended ? this.position : undefined;
  }

  /** Registers regions (once each); answers whether any is new. */
  want(regions: readonly Region[]): boolean {
    let added = false;
    for (const r of regions) {
      const key = `${r.offset}:${r.length}`;
      if (this.captures.has(key) || this.captures.size >= MAX_REGIONS) continue;
      if (!Number.isSafeInteger(r.offset) || r.offset < 0 || r.length <= 0 || r.length > MAX_REGION_BYTES) continue;
      const c = new Capture(r.offset, r.length);
      // What is already captured of it (a region asked for once an overlapping one completed) is not lost.
      const known = this.prefix(r.offset, r.length);
      known.copy(c.data);
      c.filled = known.length;
      this.captures.set(key, c);
      added = true;
      this.pending.push(c);
    }
    return added;
  }

  /**
   * Copies what the pending regions want of a chunk that started at `start`; answers whether one
   * completed (or was missed: the stream passed its start). Running it again on the same chunk takes
   * nothing twice, so regions added after a chunk can be given that chunk too.
   */
  capture(chunk: Buffer, start: number): boolean {
    let completed = false;
    const end = start + chunk.length;
    for (const c of this.pending) {
      if (c.done) {
        // Complete when it was asked for (from what other regions held).
        completed = true;
        continue;
      }
      const next = c.offset + c.filled;
      if (next < start) {
        c.missed = true;
        completed = true;
        continue;
      }
      if (next >= end) continue;
      const take = Math.min(end, c.offset + c.length) - next;
      chunk.copy(c.data, c.filled, next - start, next - start + take);
      c.filled += take;
      if (c.done) completed = true;
    }
    if (completed) this.pending = this.pending.filter((c) => !c.done);
    return completed;
  }

  /** Takes the next chunk of the stream: answers where it starts. */
  advance(chunk: Buffer): number {
    const start = this.position;
    this.position += chunk.length;
    if (chunk.length >= TAIL_BYTES) {
      chunk.copy(this.ring, 0, chunk.length - TAIL_BYTES);
      this.ringFilled = TAIL_BYTES;
    } else {
      const keep = Math.min(this.ringFilled, TAIL_BYTES - chunk.length);
      this.ring.copyWithin(TAIL_BYTES - chunk.length - keep, TAIL_BYTES - keep);
      chunk.copy(this.ring, TAIL_BYTES - chunk.length);
      this.ringFilled = keep + chunk.length;
    }
    return start;
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  end(): void {
    this.ended = true;
  }

  at(offset: number, length: number): Buffer | undefined {
    const b = this.prefix(offset, length);
    return b.length === length ? b : undefined;
  }

  prefix(offset: number, length: number): Buffer {
    // Any captured region that holds the start of the one asked for serves it.
    let best: Buffer = Buffer.alloc(0);
    for (const c of this.captures.values()) {
      if (offset < c.offset || offset >= c.offset + c.filled) continue;
      const from = offset - c.offset;
      const got = c.data.subarray(from, Math.min(c.filled, from + length));
      if (got.length > best.length) best = got;
    }
    return best;
  }

  tail(length: number): Buffer | undefined {
    if (!this.ended || length > this.ringFilled) return undefined;
    return this.ring.subarray(TAIL_BYTES - length);
  }
}

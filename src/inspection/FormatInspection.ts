import { CapturedRegions } from './CapturedRegions.ts';
import type { Finding, FormatReader } from './FormatReader.ts';
import { gptReader } from './readers/gpt.ts';
import { isoReader } from './readers/iso.ts';
import { luksReader } from './readers/luks.ts';
import { qcow2Reader } from './readers/qcow2.ts';
import { qedReader } from './readers/qed.ts';
import { rawReader } from './readers/raw.ts';
import { vdiReader } from './readers/vdi.ts';
import { vhdReader } from './readers/vhd.ts';
import { vhdxReader } from './readers/vhdx.ts';
import { vmdkReader } from './readers/vmdk.ts';

/** Recorded with every verdict: which rules judged the file. */
export const INSPECTOR_VERSION = 'visor-inspect/1';

/** Every reader but raw's (raw is what none of them matches). */
export const FORMAT_READERS: readonly FormatReader[] = [qcow2Reader, qedReader, vhdReader, vhdxReader, vmdkReader, vdiReader, isoReader, gptReader, luksReader];

/** What the readers found in a whole file. */
export interface InspectedFile {
  bytes: number;
  /** The formats whose readers recognised the file (none: it is raw). */
  matches: Finding[];
  /** The raw reading (its length), for a file no reader recognised. */
  raw: Finding;
}

/**
 * The inspection of one file as it streams: every reader at once, fed the chunks of the pass that
 * hashes the file (never a second read). Chunks are looked at only while a region some reader asked
 * for is still ahead; after that, a chunk costs the copy of its last bytes into a small ring.
 */
export class FormatInspection {
  private readonly captured = new CapturedRegions();
  private readonly readers: readonly FormatReader[];
  private early = false;

  constructor(readers: readonly FormatReader[] = FORMAT_READERS) {
    this.readers = readers;
    this.ask();
  }

  /** Registers what each reader wants now; answers whether anything new was asked for. */
  private ask(): boolean {
    let added = false;
    for (const reader of this.readers) if (this.captured.want(reader.wants(this.captured))) added = true;
    return added;
  }

  push(chunk: Buffer): void {
    const start = this.captured.advance(chunk);
    if (!this.captured.hasPending) return;
    // A completed region may make a reader ask for one that starts in this very chunk (a descriptor
    // right after its header): it is given the chunk too. ask() adds each region once, so this ends.
    let changed = this.captured.capture(chunk, start);
    while (changed && this.ask()) changed = this.captured.capture(chunk, start);
  }

  /**
   * Once, as soon as every region any reader asked for is captured (or passed) before the end: what
   * the readers make of the file so far. Its formats and header rules are final by then, so a file
   * a header already refuses can be refused at once, not after its many GiB were stored; what needs
   * the end (the length, a trailing footer) is judged by finish().
   */
  settledEarly(): InspectedFile | undefined {
    if (this.early || this.captured.hasPending) return undefined;
    this.early = true;
    return this.readAll();
  }

  /** The stream has ended: what each reader makes of the file. */
  finish(): InspectedFile {
    this.captured.end();
    return this.readAll();
  }

  private readAll(): InspectedFile {
    const matches: Finding[] = [];
    for (const reader of this.readers) {
      const found = reader.read(this.captured);
      if (found) matches.push(found);
    }
    return { bytes: this.captured.size ?? 0, matches, raw: rawReader.read(this.captured)! };
  }
}

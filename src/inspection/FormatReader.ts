/**
 * One reader per disk format, behind one interface. A reader never sees the stream: it names the
 * small regions of the file it needs (given what it has seen so far) and, once the stream has ended,
 * reads them. So the one pass that hashes an upload also inspects it, with bounded memory.
 */

/** The formats the readers tell apart; `raw` is what matches none of them. */
export const DETECTED_FORMATS = ['raw', 'qcow2', 'qed', 'vhd', 'vhdx', 'vmdk', 'vdi', 'iso', 'gpt', 'luks'] as const;
export type DetectedFormat = (typeof DETECTED_FORMATS)[number];

/** Bytes [offset, offset + length) of the file. */
export interface Region {
  readonly offset: number;
  readonly length: number;
}

/** What a reader sees of the file: the regions captured so far and, at the end, its length and last bytes. */
export interface CapturedBytes {
  /** The bytes of the region if every one of them was captured (the file may be shorter, or the region missed). */
  at(offset: number, length: number): Buffer | undefined;
  /** As much of the region as was captured from its start (all of it, or up to the end of the file). */
  prefix(offset: number, length: number): Buffer;
  /** The file's length: known once the stream has ended. */
  readonly size: number | undefined;
  /** The file's last `length` bytes, once the stream has ended (undefined if it is shorter, or beyond the ring). */
  tail(length: number): Buffer | undefined;
}

/** A rule a file breaks: the name the 400 answer carries, and what it means for this file. */
export interface Refusal {
  readonly rule: string;
  readonly message: string;
}

/** What a reader found in a file of its format. */
export interface Finding {
  readonly format: DetectedFormat;
  /** Bytes of the virtual disk, from the header (bigint: a header may claim up to 2^64). */
  readonly virtualSize: bigint;
  readonly clusterSize?: number;
  /** qcow2's compat level, as qemu-img names it ("0.10" for version 2, "1.1" for version 3). */
  readonly compat?: string;
  /** Rules the file breaks: any one refuses it. */
  readonly refusals: readonly Refusal[];
}

export interface FormatReader {
  readonly format: DetectedFormat;
  /**
   * The regions wanted now, given what has been captured (asked again whenever a region completes and
   * at the end). A region the stream has already passed can no longer be captured: `at` says so.
   */
  wants(bytes: CapturedBytes): readonly Region[];
  /**
   * Undefined if the file is not of this format, else what was found. Called at the end, and maybe
   * once before (FormatInspection.settledEarly: every region wanted captured, `size` and `tail` not
   * known yet): a rule that needs them is judged only at the end.
   */
  read(bytes: CapturedBytes): Finding | undefined;
}

/** The largest region a reader may ask for: the VMDK descriptor's limit in qemu (1 MiB - 1). */
export const MAX_REGION_BYTES = (1 << 20) - 1;

export function refusal(rule: string, message: string): Refusal {
  return { rule, message };
}

/**
 * The file's length as a virtual size (for the formats qemu reads as raw), once known: in whole
 * 512-byte sectors, as qemu counts it (a file of 300000 bytes is a disk of 300032).
 */
export function sizeOf(bytes: CapturedBytes): bigint {
  return ((BigInt(bytes.size ?? 0) + 511n) / 512n) * 512n;
}

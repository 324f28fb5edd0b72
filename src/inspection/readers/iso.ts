import type { FormatReader } from '../FormatReader.ts';
import { sizeOf } from '../FormatReader.ts';

/** The first volume descriptor follows the 32 KiB system area (which may hold anything: an MBR, or a hidden header). */
const DESCRIPTOR = 0x8000;
const IDENTIFIERS = ['CD001', 'NSR02', 'NSR03'];

/**
 * ISO 9660 / UDF. Its virtual size is its length, as qemu (which reads an ISO as raw) reports it.
 * A header of another format hidden in the system area makes the file match two formats, refused
 * by the inspection as a whole.
 */
export const isoReader: FormatReader = {
  format: 'iso',
  wants: () => [{ offset: DESCRIPTOR, length: 2048 }],
  read(bytes) {
    const d = bytes.at(DESCRIPTOR, 2048);
    if (!d || !IDENTIFIERS.includes(d.toString('latin1', 1, 6))) return undefined;
    return { format: 'iso', virtualSize: sizeOf(bytes), refusals: [] };
  },
};

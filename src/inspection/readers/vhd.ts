import { refusal, type FormatReader } from '../FormatReader.ts';

const MAGIC = Buffer.from('conectix', 'latin1');
const FOOTER = 512;
/** qemu's largest CHS geometry: a disk of exactly this many sectors is sized by its footer's current size. */
const MAX_GEOMETRY = 65535n * 16n * 255n;
/** Creators whose footer's current size qemu trusts over the CHS geometry (block/vpc.c). */
const SIZE_CREATORS = ['win ', 'qem2', 'd2v ', 'CTXS', 'tap\0'];

/**
 * VHD (qemu's "vpc"), dynamic or differencing: the footer's copy at 0. The virtual size is computed as
 * qemu does: from the CHS geometry unless the creator is one whose current size qemu trusts. Fixed
 * VHDs carry the footer only at the end and are raw to qemu's probe, oslo's and this one alike.
 */
export const vhdReader: FormatReader = {
  format: 'vhd',
  wants: () => [{ offset: 0, length: FOOTER }],
  read(bytes) {
    if (!bytes.prefix(0, 8).equals(MAGIC)) return undefined;
    const f = bytes.at(0, FOOTER);
    if (!f) return { format: 'vhd', virtualSize: 0n, refusals: [refusal('truncated-header', `the file has the VHD magic but is shorter than its ${FOOTER}-byte footer copy`)] };
    const creator = f.toString('latin1', 28, 32);
    const sectors = BigInt(f.readUInt16BE(56)) * BigInt(f[58]!) * BigInt(f[59]!);
    const currentSize = f.readBigUInt64BE(48);
    const bySize = SIZE_CREATORS.includes(creator) || sectors === MAX_GEOMETRY;
    const refusals = f.readUInt32BE(60) === 4 ? [refusal('vhd-differencing', 'a differencing VHD names a parent file: qemu would read another file through it')] : [];
    return { format: 'vhd', virtualSize: bySize ? currentSize : sectors * 512n, refusals };
  },
};

import { refusal, sizeOf, type FormatReader } from '../FormatReader.ts';

const MAGIC = Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]); // "LUKS\xba\xbe"

/**
 * LUKS. Refused whatever its version (a documented choice): its contents cannot be inspected without
 * the key, and no `disk` value names it. Version 2 is named as such (qemu cannot read it either).
 */
export const luksReader: FormatReader = {
  format: 'luks',
  wants: () => [{ offset: 0, length: 108 }],
  read(bytes) {
    if (!bytes.prefix(0, 6).equals(MAGIC)) return undefined;
    const h = bytes.at(0, 108);
    if (!h) return { format: 'luks', virtualSize: 0n, refusals: [refusal('truncated-header', 'the file has the LUKS magic but is shorter than its header')] };
    const version = h.readUInt16BE(6);
    const payload = BigInt(h.readUInt32BE(104)) * 512n;
    const size = sizeOf(bytes);
    return {
      format: 'luks',
      virtualSize: version === 1 && size > payload ? size - payload : 0n,
      refusals: [version === 1 ? refusal('luks', 'LUKS-encrypted images are not accepted: their contents cannot be inspected') : refusal('luks-version', `LUKS version ${version}: not accepted (encrypted images cannot be inspected, and qemu reads only version 1)`)],
    };
  },
};

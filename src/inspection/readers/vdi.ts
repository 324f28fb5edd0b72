import { refusal, type FormatReader } from '../FormatReader.ts';

const SIGNATURE = 0xbeda107f;
const HEADER = 512;

/** VirtualBox VDI: signature u32 LE at 0x40, disk size u64 LE at 0x170. */
export const vdiReader: FormatReader = {
  format: 'vdi',
  wants: () => [{ offset: 0, length: HEADER }],
  read(bytes) {
    const sig = bytes.prefix(0x40, 4);
    if (sig.length < 4 || sig.readUInt32LE(0) !== SIGNATURE) return undefined;
    const h = bytes.at(0, HEADER);
    if (!h) return { format: 'vdi', virtualSize: 0n, refusals: [refusal('truncated-header', `the file has the VDI signature but is shorter than its ${HEADER}-byte header`)] };
    return { format: 'vdi', virtualSize: h.readBigUInt64LE(0x170), refusals: [] };
  },
};

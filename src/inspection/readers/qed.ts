import { refusal, type FormatReader } from '../FormatReader.ts';

const MAGIC = Buffer.from('QED\0', 'latin1');

/** QED: detected only to be refused (no disk value names it, and it can name a backing file too). */
export const qedReader: FormatReader = {
  format: 'qed',
  wants: () => [{ offset: 0, length: 64 }],
  read(bytes) {
    if (!bytes.prefix(0, 4).equals(MAGIC)) return undefined;
    const h = bytes.at(0, 64);
    return { format: 'qed', virtualSize: h ? h.readBigUInt64LE(24) : 0n, refusals: [refusal('qed', 'QED images are not accepted (like in Glance): convert it to qcow2 or raw')] };
  },
};

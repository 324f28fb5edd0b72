import { refusal, sizeOf, type FormatReader, type Refusal } from '../FormatReader.ts';

const SIGNATURE = 0xaa55;
const ENTRIES = 446;
const PROTECTIVE = 0xee;
const GPT_SIGNATURE = 'EFI PART';

/**
 * A partition table: an MBR (signature 0xAA55 at 510), with a GPT behind it when its one partition is
 * protective (type 0xEE). A FAT boot sector carries the same signature and is not a partition table.
 * Its virtual size is its length (qemu reads it as raw). The sanity checks are oslo's, plus the GPT
 * header a protective MBR promises at LBA 1 (512-byte or 4 KiB sectors).
 */
export const gptReader: FormatReader = {
  format: 'gpt',
  wants: () => [
    { offset: 0, length: 512 },
    { offset: 512, length: 512 },
    { offset: 4096, length: 512 },
  ],
  read(bytes) {
    const mbr = bytes.at(0, 512);
    if (!mbr || mbr.readUInt16LE(510) !== SIGNATURE) return undefined;
    // A FAT volume boot record: two FATs, media "fixed disk".
    if (mbr[0x10] === 2 && mbr[0x15] === 0xf8) return undefined;
    const refusals: Refusal[] = [];
    const used: number[] = [];
    let protective = false;
    for (let i = 0; i < 4; i++) {
      const e = mbr.subarray(ENTRIES + 16 * i, ENTRIES + 16 * (i + 1));
      const boot = e[0]!;
      const type = e[4]!;
      if (boot !== 0x00 && boot !== 0x80) refusals.push(refusal('mbr-boot-flag', `MBR partition ${i} has boot flag 0x${boot.toString(16)} (0x00 or 0x80 expected)`));
      if (type !== 0) used.push(i);
      if (type === PROTECTIVE) {
        protective = true;
        if (e[1] !== 0 || e[2] !== 2 || e[3] !== 0) refusals.push(refusal('mbr-protective', `the protective MBR partition ${i} does not start at CHS 0/2/0`));
        if (e.readUInt32LE(8) !== 1) refusals.push(refusal('mbr-protective', `the protective MBR partition ${i} does not start at LBA 1`));
      }
    }
    if (used.length === 0) refusals.push(refusal('mbr-no-partition', 'the MBR defines no partition'));
    if (protective && (used.length !== 1 || used[0] !== 0)) refusals.push(refusal('mbr-protective', 'a protective MBR must define its one partition first and nothing else'));
    if (protective && ![512, 4096].some((at) => bytes.at(at, 8)?.toString('latin1') === GPT_SIGNATURE)) {
      refusals.push(refusal('gpt-header', 'a protective MBR alone: no GPT header at LBA 1'));
    }
    return { format: 'gpt', virtualSize: sizeOf(bytes), refusals };
  },
};

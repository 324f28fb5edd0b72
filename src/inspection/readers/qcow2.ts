import { refusal, type FormatReader, type Refusal } from '../FormatReader.ts';

const MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]); // "QFI\xfb"
const HEADER = 512;
/** Incompatible feature bits qemu knows (dirty, corrupt, external data file, compression type); bit 2 is refused on its own. */
const KNOWN_INCOMPATIBLE = 0b1111n;
const DATA_FILE_BIT = 1n << 2n;
/** Header extension naming an external data file ("DATA"). */
const DATA_FILE_EXTENSION = 0x44415441;

/**
 * qcow2 (qemu's own format, big-endian header at 0). A backing file or an external data file makes
 * qemu-img open a path the header names, a host file (CVE-2024-32498); features this reader does
 * not know may change how the file is read, so they are refused like in oslo's inspector; version 1
 * ("qcow") is a different format qemu still reads.
 */
export const qcow2Reader: FormatReader = {
  format: 'qcow2',
  wants: () => [{ offset: 0, length: HEADER }],
  read(bytes) {
    if (!bytes.prefix(0, 4).equals(MAGIC)) return undefined;
    const h = bytes.at(0, HEADER);
    if (!h) return { format: 'qcow2', virtualSize: 0n, refusals: [refusal('truncated-header', `the file has the qcow2 magic but is shorter than its ${HEADER}-byte header`)] };
    const refusals: Refusal[] = [];
    const version = h.readUInt32BE(4);
    const clusterBits = h.readUInt32BE(20);
    const virtualSize = h.readBigUInt64BE(24);
    if (version !== 2 && version !== 3) refusals.push(refusal('qcow2-version', `qcow2 version ${version}: only versions 2 and 3 are accepted${version === 1 ? ' (version 1 is the old qcow format)' : ''}`));
    if (h.readBigUInt64BE(8) !== 0n || h.readUInt32BE(16) !== 0) refusals.push(refusal('qcow2-backing-file', 'the qcow2 header names a backing file: qemu would read another file (a host file) through it'));
    if (clusterBits < 9 || clusterBits > 21) refusals.push(refusal('qcow2-header', `qcow2 cluster bits ${clusterBits} outside 9..21`));
    let headerLength = 72;
    if (version === 3) {
      const incompatible = h.readBigUInt64BE(72);
      if (incompatible & DATA_FILE_BIT) refusals.push(refusal('qcow2-data-file', 'the qcow2 header sets the external data file feature: qemu would read another file (a host file) as the disk'));
      const unknown = incompatible & ~KNOWN_INCOMPATIBLE;
      if (unknown !== 0n) refusals.push(refusal('qcow2-unknown-features', `the qcow2 header sets incompatible feature bits this inspector does not know: 0x${unknown.toString(16)}`));
      headerLength = h.readUInt32BE(100);
    }
    if (headerLength < 72 || headerLength > HEADER) refusals.push(refusal('qcow2-header', `qcow2 header length ${headerLength} outside 72..${HEADER}`));
    else if (!refusals.some((r) => r.rule === 'qcow2-data-file') && hasDataFileExtension(h, headerLength)) refusals.push(refusal('qcow2-data-file', 'the qcow2 header extensions name an external data file'));
    return { format: 'qcow2', virtualSize, clusterSize: 2 ** Math.min(clusterBits, 31), compat: version === 2 ? '0.10' : version === 3 ? '1.1' : String(version), refusals };
  },
};

/** Whether the header extensions within the captured header name an external data file. */
function hasDataFileExtension(h: Buffer, from: number): boolean {
  for (let at = from; at + 8 <= h.length; ) {
    const type = h.readUInt32BE(at);
    if (type === 0) return false;
    if (type === DATA_FILE_EXTENSION) return true;
    at += 8 + Math.ceil(h.readUInt32BE(at + 4) / 8) * 8;
  }
  return false;
}

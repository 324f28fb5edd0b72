import { MAX_REGION_BYTES, refusal, type CapturedBytes, type Finding, type FormatReader, type Refusal } from '../FormatReader.ts';

const SPARSE_MAGIC = Buffer.from('KDMV', 'latin1');
/** The older VMDK3 sparse format ("COWD"), which qemu still opens. */
const VMDK3_MAGIC = Buffer.from('COWD', 'latin1');
const HEADER = 512;
/** qemu reads an embedded descriptor only here. */
const DESCRIPTOR_OFFSET = 0x200;
const GD_AT_END = 0xffffffffffffffffn;
const FOOTER_BYTES = 1536;
const ALLOWED_TYPES = ['monolithicSparse', 'streamOptimized'];
const EXTENT_ACCESS = ['rw', 'rdonly', 'noaccess'];

/**
 * VMDK: a hosted sparse extent ("KDMV" header, descriptor embedded at 0x200) or a text descriptor
 * file. A descriptor names its extents, which qemu-img opens as files: a flat extent "/etc/passwd"
 * reads that host file (CVE-2022-47951). Only a single sparse extent in the file itself is accepted,
 * of create type monolithicSparse or streamOptimized; a descriptor file is always refused (its
 * extents are other files by definition). Where oslo's inspector gave up on a header it could not
 * parse (and so let the file pass as raw), this one refuses it.
 */
export const vmdkReader: FormatReader = {
  format: 'vmdk',
  wants(bytes) {
    const h = bytes.at(0, HEADER);
    if (!h) return [{ offset: 0, length: HEADER }];
    if (h.subarray(0, 4).equals(SPARSE_MAGIC)) {
      const offset = h.readBigUInt64LE(28) * 512n;
      const length = h.readBigUInt64LE(36) * 512n;
      if (offset !== BigInt(DESCRIPTOR_OFFSET) || length === 0n) return [];
      return [{ offset: DESCRIPTOR_OFFSET, length: Number(length < BigInt(MAX_REGION_BYTES) ? length : BigInt(MAX_REGION_BYTES)) }];
    }
    return isText(h) ? [{ offset: 0, length: MAX_REGION_BYTES }] : [];
  },
  read(bytes) {
    const start = bytes.prefix(0, HEADER);
    if (start.subarray(0, 4).equals(VMDK3_MAGIC)) return refused(0n, 'vmdk-version', 'VMDK3 ("COWD") sparse files are not accepted');
    if (start.subarray(0, 4).equals(SPARSE_MAGIC)) return readSparse(bytes);
    const text = bytes.prefix(0, MAX_REGION_BYTES);
    if (start.length < 4 || !isText(start) || !(qemuProbesDescriptor(start) || /createtype/i.test(text.toString('latin1')))) return undefined;
    return refused(0n, 'vmdk-descriptor-file', 'the file is a VMDK descriptor file: its extents are other files (qemu-img would open them, host files included); upload a monolithicSparse or streamOptimized VMDK instead');
  },
};

function refused(virtualSize: bigint, rule: string, message: string): Finding {
  return { format: 'vmdk', virtualSize, refusals: [refusal(rule, message)] };
}

function readSparse(bytes: CapturedBytes): Finding {
  const h = bytes.at(0, HEADER);
  if (!h) return refused(0n, 'truncated-header', `the file has the VMDK magic but is shorter than its ${HEADER}-byte header`);
  const version = h.readUInt32LE(4);
  const virtualSize = h.readBigUInt64LE(12) * 512n;
  const descriptorOffset = h.readBigUInt64LE(28) * 512n;
  const descriptorLength = h.readBigUInt64LE(36) * 512n;
  const gd = h.readBigUInt64LE(56);
  if (version < 1 || version > 3) return refused(virtualSize, 'vmdk-header', `VMDK version ${version}: only 1 to 3 are known`);
  if (descriptorOffset !== BigInt(DESCRIPTOR_OFFSET) || descriptorLength === 0n) return refused(virtualSize, 'vmdk-descriptor', `the VMDK descriptor must be embedded at 0x200 (it is at 0x${descriptorOffset.toString(16)}, ${descriptorLength} bytes)`);
  const length = Number(descriptorLength < BigInt(MAX_REGION_BYTES) ? descriptorLength : BigInt(MAX_REGION_BYTES));
  const descriptor = bytes.at(DESCRIPTOR_OFFSET, length);
  if (!descriptor) return refused(virtualSize, 'truncated-header', 'the file ends within its VMDK descriptor');
  const refusals = descriptorRefusals(descriptor);
  // The footer is judged once the stream has ended (its size known), never on a reading before.
  if (gd === GD_AT_END && bytes.size !== undefined) {
    const footer = footerProblem(h, bytes.tail(FOOTER_BYTES));
    if (footer) refusals.push(refusal('vmdk-footer', footer));
  }
  return { format: 'vmdk', virtualSize, refusals };
}

/** The embedded descriptor, parsed as cautiously as oslo's inspector: every line must be understood. */
function descriptorRefusals(raw: Buffer): Refusal[] {
  const nul = raw.indexOf(0);
  const data = nul === -1 ? raw : raw.subarray(0, nul);
  if (data.some((b) => b > 0x7e || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d))) return [refusal('vmdk-descriptor', 'the VMDK descriptor is not plain ASCII text')];
  const text = data.toString('latin1');
  const extents: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    const lower = line.toLowerCase();
    if (line === '' || line.startsWith('#') || lower.startsWith('ddb')) continue;
    const eq = line.indexOf('=');
    if (eq > 0 && !line.slice(0, eq).trim().includes(' ')) continue;
    if (EXTENT_ACCESS.includes(lower.split(/\s+/)[0]!)) {
      extents.push(line);
      continue;
    }
    return [refusal('vmdk-descriptor', `the VMDK descriptor has a line this inspector does not understand: ${JSON.stringify(line.slice(0, 80))}`)];
  }
  const refusals: Refusal[] = [];
  // qemu takes the first "createType" anywhere (case-sensitive); oslo the first case-insensitive one.
  // Exactly one, on its own line, leaves no room between the two readings.
  const types = [...text.matchAll(/createtype/gi)];
  const type = /^\s*createType\s*=\s*"([^"]*)"\s*$/m.exec(text)?.[1];
  if (types.length !== 1 || type === undefined || !ALLOWED_TYPES.includes(type)) {
    refusals.push(refusal('vmdk-create-type', `VMDK create type ${type === undefined ? '(none or unclear)' : JSON.stringify(type.slice(0, 64))}: only ${ALLOWED_TYPES.join(' and ')} are accepted`));
  }
  // The one extent of a sparse VMDK is the file itself; any other names another file.
  const parts = extents.length === 1 ? /^\S+\s+\d+\s+(\S+)\s+"([^"]*)"\s*(\d+)?\s*$/.exec(extents[0]!) : null;
  if (extents.length !== 1 || !parts || parts[1]!.toUpperCase() !== 'SPARSE' || parts[3] !== undefined || /[/\\]/.test(parts[2]!) || parts[2] === '' || parts[2]!.startsWith('.')) {
    refusals.push(refusal('vmdk-extent-file', `the VMDK descriptor must name exactly one SPARSE extent, the file itself: it names ${extents.length === 0 ? 'none' : extents.map((e) => JSON.stringify(e.slice(0, 120))).join(', ')}`));
  }
  return refusals;
}

/**
 * A stream-optimized VMDK's header defers to its footer (gd at end): the last 1536 bytes must be a
 * footer marker, a footer that agrees with the header, and an end-of-stream marker.
 */
function footerProblem(header: Buffer, tail: Buffer | undefined): string | undefined {
  if (!tail) return 'the stream-optimized VMDK is too short for its footer';
  const marker = tail.subarray(0, 512);
  const footer = tail.subarray(512, 1024);
  const eos = tail.subarray(1024);
  if (marker.readUInt32LE(8) !== 0 || marker.readUInt32LE(12) !== 3 || marker.subarray(16).some((b) => b !== 0)) return 'the footer marker is missing or malformed';
  if (!footer.subarray(0, 4).equals(SPARSE_MAGIC)) return 'the footer has no VMDK signature';
  if (footer.readUInt32LE(4) !== header.readUInt32LE(4)) return 'the footer\'s version differs from the header\'s';
  if (footer.readBigUInt64LE(12) !== header.readBigUInt64LE(12)) return 'the footer\'s capacity differs from the header\'s';
  if (footer.readBigUInt64LE(28) !== header.readBigUInt64LE(28) || footer.readBigUInt64LE(36) !== header.readBigUInt64LE(36)) return 'the footer names another descriptor than the header';
  if (footer.readBigUInt64LE(56) === GD_AT_END) return 'the footer defers to yet another footer';
  if (eos.some((b) => b !== 0)) return 'the end-of-stream marker is missing or malformed';
  return undefined;
}

/** Printable ASCII and line whitespace only. */
function isText(b: Buffer): boolean {
  return b.length > 0 && !b.some((c) => c > 0x7e || (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d));
}

/** qemu's vmdk_probe on a text start: comment and blank lines, then "version=1|2|3". */
function qemuProbesDescriptor(b: Buffer): boolean {
  const s = b.toString('latin1');
  let p = 0;
  while (p < s.length) {
    if (s[p] === '#') {
      const nl = s.indexOf('\n', p);
      if (nl === -1) return false;
      p = nl + 1;
      continue;
    }
    if (s[p] === ' ') {
      while (p < s.length && s[p] === ' ') p++;
      if (s[p] === '\r') p++;
      if (p >= s.length || s[p] !== '\n') return false;
      p++;
      continue;
    }
    return /^version=[123]\r?\n/.test(s.slice(p, p + 11));
  }
  return false;
}

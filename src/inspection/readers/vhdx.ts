import { refusal, type CapturedBytes, type FormatReader, type Region } from '../FormatReader.ts';

const MAGIC = Buffer.from('vhdxfile', 'latin1');
const REGION_TABLE = 0x30000;
const TABLE_BYTES = 64 * 1024;
/** The metadata table: a 32-byte header and at most 2047 entries of 32 bytes. */
const METADATA_TABLE_BYTES = 2048 * 32;
const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const VIRTUAL_DISK_SIZE = guidBytes('2FA54224-CD1B-4876-B211-5DBED83BF4B8');
const MAX_ENTRIES = 2047;

/** A GUID as it lies on disk: the first three fields little-endian. */
function guidBytes(text: string): Buffer {
  const hex = text.replaceAll('-', '');
  const b = Buffer.from(hex, 'hex');
  b.subarray(0, 4).reverse();
  b.subarray(4, 6).reverse();
  b.subarray(6, 8).reverse();
  return b;
}

type Step = { region: Region } | { problem: string };

/** The metadata region's offset, from the region table. */
function metadataRegion(bytes: CapturedBytes): Step | undefined {
  const t = bytes.at(REGION_TABLE, TABLE_BYTES);
  if (!t) return undefined;
  if (t.toString('latin1', 0, 4) !== 'regi') return { problem: 'the VHDX region table has no "regi" signature' };
  const count = t.readUInt32LE(8);
  if (count > MAX_ENTRIES) return { problem: `the VHDX region table claims ${count} entries (at most ${MAX_ENTRIES})` };
  for (let i = 0; i < count; i++) {
    const e = 16 + i * 32;
    if (t.subarray(e, e + 16).equals(METADATA_REGION)) {
      const offset = t.readBigUInt64LE(e + 16);
      if (offset > BigInt(Number.MAX_SAFE_INTEGER)) return { problem: 'the VHDX metadata region lies beyond any file' };
      return { region: { offset: Number(offset), length: METADATA_TABLE_BYTES } };
    }
  }
  return { problem: 'the VHDX region table has no metadata region' };
}

/** The virtual disk size item's place, from the metadata table. */
function sizeItem(bytes: CapturedBytes, table: Region): Step | undefined {
  const m = bytes.at(table.offset, table.length);
  if (!m) return undefined;
  if (m.toString('latin1', 0, 8) !== 'metadata') return { problem: 'the VHDX metadata table has no "metadata" signature' };
  const count = m.readUInt16LE(10);
  if (count > MAX_ENTRIES) return { problem: `the VHDX metadata table claims ${count} entries (at most ${MAX_ENTRIES})` };
  for (let i = 0; i < count; i++) {
    const e = 32 + i * 32;
    if (m.subarray(e, e + 16).equals(VIRTUAL_DISK_SIZE)) return { region: { offset: table.offset + m.readUInt32LE(e + 16), length: 8 } };
  }
  return { problem: 'the VHDX metadata has no virtual disk size' };
}

/**
 * VHDX: the region table at 192 KiB locates the metadata region, whose table locates the virtual
 * disk size (three steps, each a region captured as the stream passes it). A VHDX whose metadata
 * lies before its region table cannot be read in one pass and is refused, not guessed at.
 */
export const vhdxReader: FormatReader = {
  format: 'vhdx',
  wants(bytes) {
    const magic = bytes.at(0, 8);
    if (!magic) return [{ offset: 0, length: 8 }];
    if (!magic.equals(MAGIC)) return [];
    const regions: Region[] = [{ offset: REGION_TABLE, length: TABLE_BYTES }];
    const meta = metadataRegion(bytes);
    if (meta && 'region' in meta) {
      regions.push(meta.region);
      const item = sizeItem(bytes, meta.region);
      if (item && 'region' in item) regions.push(item.region);
    }
    return regions;
  },
  read(bytes) {
    if (!bytes.prefix(0, 8).equals(MAGIC)) return undefined;
    const fail = (message: string) => ({ format: 'vhdx' as const, virtualSize: 0n, refusals: [refusal('vhdx-header', message)] });
    const meta = metadataRegion(bytes);
    if (!meta) return { format: 'vhdx' as const, virtualSize: 0n, refusals: [refusal('truncated-header', 'the file has the VHDX magic but ends before its region table')] };
    if ('problem' in meta) return fail(meta.problem);
    const item = sizeItem(bytes, meta.region);
    if (!item) return fail('the VHDX metadata table could not be read in one pass (it lies before the region table, or past the end of the file)');
    if ('problem' in item) return fail(item.problem);
    const size = bytes.at(item.region.offset, 8);
    if (!size) return fail('the VHDX virtual disk size could not be read in one pass');
    return { format: 'vhdx', virtualSize: size.readBigUInt64LE(0), refusals: [] };
  },
};

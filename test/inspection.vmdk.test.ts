import test from 'ava';
import { execFileSync } from 'node:child_process';
import { CHUNK_SIZES, imageDir, patched, qemuConvert, qemuCreate, qemuImg, qemuInfo, read, rulesOf, u64le, verdict, write } from './helpers/diskImages.ts';

// VMDK: the two single-file variants qemu-img writes are accepted with qemu-img's virtual size; a
// descriptor that makes qemu-img open another file (CVE-2022-47951), a create type other than
// monolithicSparse/streamOptimized, and a stream-optimized footer that disagrees are refused by name.

const dir = imageDir();
test.before(() => qemuImg());

/** The embedded descriptor (at 0x200, NUL-padded) replaced by `text`. */
function withDescriptor(bytes: Buffer, text: string): Buffer {
  const room = Number(bytes.readBigUInt64LE(36)) * 512;
  if (text.length > room) throw new Error('descriptor too long for the test image');
  const copy = Buffer.from(bytes);
  copy.fill(0, 0x200, 0x200 + room);
  copy.write(text, 0x200, 'latin1');
  return copy;
}

const descriptor = (createType: string, extent: string, extra = '') =>
  `# Disk DescriptorFile\nversion=1\nCID=5d103014\nparentCID=ffffffff\n${extra}createType="${createType}"\n\n# Extent description\n${extent}\n\n# The Disk Data Base\n#DDB\n\nddb.virtualHWVersion = "4"\n`;

test('monolithicSparse and streamOptimized VMDKs from qemu-img read exactly as qemu-img info reads them, at any chunking', (t) => {
  const raw = qemuCreate(dir, 'source.raw', 'raw', '3M');
  execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=64k', 'count=4', 'seek=7', 'conv=notrunc'], { stdio: 'ignore' });
  const cases = [qemuCreate(dir, 'sparse.vmdk', 'vmdk', '9M'), qemuConvert(dir, raw, 'stream.vmdk', 'vmdk', ['subformat=streamOptimized'])];
  for (const path of cases) {
    const info = qemuInfo(path);
    t.is(info.format, 'vmdk');
    for (const chunk of CHUNK_SIZES) {
      const v = verdict(read(path), 'vmdk', chunk);
      if (!('accepted' in v)) return t.fail(`${path}: ${v.message}`);
      t.like(v.accepted, { format: 'vmdk', virtual_size: info['virtual-size'] }, `${path} in chunks of ${chunk}`);
    }
  }
});

test('a VMDK descriptor file with a flat extent naming /etc/passwd (CVE-2022-47951) is refused, declared vmdk or raw', (t) => {
  const path = write(dir, 'flat.vmdk', Buffer.from(descriptor('monolithicFlat', 'RW 2048 FLAT "/etc/passwd" 0')));
  t.is(qemuInfo(path).format, 'vmdk', 'qemu-img reads it as a VMDK over /etc/passwd');
  t.deepEqual(rulesOf(read(path), 'vmdk'), ['vmdk-descriptor-file']);
  t.deepEqual(rulesOf(read(path), 'raw'), ['vmdk-descriptor-file', 'format-mismatch']);
  // Any descriptor file names other files, even a relative sparse one.
  t.deepEqual(rulesOf(Buffer.from(descriptor('monolithicSparse', 'RW 2048 SPARSE "disk-s001.vmdk"')), 'vmdk'), ['vmdk-descriptor-file']);
});

test('a sparse VMDK whose embedded descriptor names another file is refused: vmdk-extent-file', (t) => {
  const bytes = read(qemuCreate(dir, 'extent.vmdk', 'vmdk', '4M'));
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicSparse', 'RW 8192 SPARSE "/etc/passwd"')), 'vmdk'), ['vmdk-extent-file']);
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicSparse', 'RW 8192 FLAT "passwd" 0')), 'vmdk'), ['vmdk-extent-file']);
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicSparse', 'RW 8192 SPARSE "extent.vmdk"\nRW 8192 SPARSE "other.vmdk"')), 'vmdk'), ['vmdk-extent-file']);
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicSparse', '# no extent')), 'vmdk'), ['vmdk-extent-file']);
});

test('create types other than monolithicSparse and streamOptimized, and ambiguous ones, are refused: vmdk-create-type', (t) => {
  const bytes = read(qemuCreate(dir, 'types.vmdk', 'vmdk', '4M'));
  const sparseExtent = 'RW 8192 SPARSE "types.vmdk"';
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicSparse', sparseExtent)), 'vmdk'), [], 'the original reads fine');
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('vmfs', sparseExtent)), 'vmdk'), ['vmdk-create-type']);
  // qemu takes the first case-sensitive "createType", oslo's reader the first in any case: two of them are refused.
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicFlat', sparseExtent, 'CREATETYPE="monolithicSparse"\n')), 'vmdk'), ['vmdk-create-type']);
});

test('a descriptor line this reader does not understand, or a descriptor away from 0x200, is refused: vmdk-descriptor', (t) => {
  const bytes = read(qemuCreate(dir, 'lines.vmdk', 'vmdk', '4M'));
  t.deepEqual(rulesOf(withDescriptor(bytes, descriptor('monolithicSparse', 'RW 8192 SPARSE "lines.vmdk"', 'include /etc/passwd\n')), 'vmdk'), ['vmdk-descriptor']);
  t.deepEqual(rulesOf(patched(bytes, 28, u64le(2n)), 'vmdk'), ['vmdk-descriptor']);
});

/**
 * A stream-optimized VMDK as VMware writes it: the header's grain directory "at the end" (-1), and
 * after the data a footer marker, the footer (the header with the real grain directory) and the
 * end-of-stream marker. qemu-img writes the grain directory into the header instead.
 */
function withFooter(bytes: Buffer): Buffer {
  const header = bytes.subarray(0, 512);
  const marker = Buffer.alloc(512);
  marker.writeUInt32LE(3, 12);
  return Buffer.concat([patched(bytes, 56, u64le(0xffffffffffffffffn)), marker, header, Buffer.alloc(512)]);
}

test('a stream-optimized VMDK with a footer is accepted as qemu-img reads it; one whose footer disagrees with its header, or lacks its end-of-stream marker, is refused: vmdk-footer', (t) => {
  const raw = qemuCreate(dir, 'footer.raw', 'raw', '1M');
  const bytes = withFooter(read(qemuConvert(dir, raw, 'footer.vmdk', 'vmdk', ['subformat=streamOptimized'])));
  const path = write(dir, 'footed.vmdk', bytes);
  t.like(verdict(bytes, 'vmdk'), { accepted: { format: 'vmdk', virtual_size: qemuInfo(path)['virtual-size'] } });
  const footer = bytes.length - 1024;
  t.deepEqual(rulesOf(patched(bytes, footer + 28, u64le(5n)), 'vmdk'), ['vmdk-footer'], 'another descriptor');
  t.deepEqual(rulesOf(patched(bytes, footer + 12, u64le(2n ** 40n)), 'vmdk'), ['vmdk-footer'], 'another capacity');
  t.deepEqual(rulesOf(patched(bytes, footer + 56, u64le(0xffffffffffffffffn)), 'vmdk'), ['vmdk-footer'], 'a footer deferring to another');
  t.deepEqual(rulesOf(patched(bytes, footer - 500, Buffer.from([1])), 'vmdk'), ['vmdk-footer'], 'a malformed footer marker');
  t.deepEqual(rulesOf(bytes.subarray(0, bytes.length - 512), 'vmdk'), ['vmdk-footer'], 'no end-of-stream marker');
});

test('a VMDK cut within its header or descriptor is refused as truncated; VMDK3 ("COWD") is refused', (t) => {
  const bytes = read(qemuCreate(dir, 'cut.vmdk', 'vmdk', '4M'));
  t.deepEqual(rulesOf(bytes.subarray(0, 100), 'vmdk'), ['truncated-header']);
  t.deepEqual(rulesOf(bytes.subarray(0, 0x300), 'vmdk'), ['truncated-header']);
  t.deepEqual(rulesOf(Buffer.concat([Buffer.from('COWD'), Buffer.alloc(4092)]), 'vmdk'), ['vmdk-version']);
});

test('plain text that is no VMDK descriptor stays raw', (t) => {
  const text = Buffer.from('# notes\nThis is just a text file, create no type here.\n'.repeat(40));
  t.like(verdict(text, 'raw'), { accepted: { format: 'raw', virtual_size: Math.ceil(text.length / 512) * 512 } });
});

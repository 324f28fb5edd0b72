import test from 'ava';
import { imageDir, isoImage, partitionedDisk, qemuCreate, qemuImg, qemuInfo, read, rulesOf, verdict, write } from './helpers/diskImages.ts';

// ISO 9660: recognised by its volume descriptor at 32 KiB. Its system area may carry a partition
// table (bootable ISOs do), but a header of another format hidden there is refused: qemu-img would
// read the file as that format.

const dir = imageDir();
test.before(() => qemuImg());

test('an ISO is accepted as iso with its length as virtual size, which is what qemu-img (reading it as raw) reports', (t) => {
  const path = write(dir, 'plain.iso', isoImage(40));
  const info = qemuInfo(path);
  t.is(info.format, 'raw');
  for (const chunk of [509, 4096, 1 << 20]) t.like(verdict(read(path), 'iso', chunk), { accepted: { format: 'iso', virtual_size: info['virtual-size'] } });
  t.like(verdict(read(path), 'raw'), { accepted: { format: 'iso' } }, 'raw may be an ISO filesystem');
});

test('a bootable ISO carrying an MBR or a GPT in its system area is an ISO', (t) => {
  for (const kind of ['mbr', 'gpt'] as const) {
    const iso = isoImage(40, partitionedDisk(0x8000, kind));
    t.like(verdict(iso, 'iso'), { accepted: { format: 'iso' } }, kind);
  }
});

test('an ISO with a qcow2 header in its system area is refused: multiple-formats (qemu-img reads it as qcow2)', (t) => {
  const qcow2 = read(qemuCreate(dir, 'hidden.qcow2', 'qcow2', '1M'));
  const path = write(dir, 'hidden.iso', isoImage(40, qcow2));
  t.is(qemuInfo(path).format, 'qcow2');
  t.deepEqual(rulesOf(read(path), 'iso'), ['multiple-formats']);
  t.deepEqual(rulesOf(read(path), 'raw'), ['multiple-formats']);
  t.deepEqual(rulesOf(read(path), 'qcow2'), ['multiple-formats']);
});

test('bytes without a volume descriptor declared iso are refused: format-mismatch', (t) => {
  t.deepEqual(rulesOf(Buffer.alloc(64 * 1024, 7), 'iso'), ['format-mismatch']);
  t.deepEqual(rulesOf(isoImage(40).subarray(0, 0x8000 + 100), 'iso'), ['format-mismatch'], 'cut within the descriptor');
});

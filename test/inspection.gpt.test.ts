import test from 'ava';
import { imageDir, partitionedDisk, patched, qemuImg, qemuInfo, read, rulesOf, verdict, write } from './helpers/diskImages.ts';

// A partition table (MBR, or GPT behind a protective MBR) is a raw disk: accepted as raw, recorded
// as gpt, with the sanity checks of oslo's inspector (boot flags, the protective MBR) and the GPT
// header a protective MBR promises.

const dir = imageDir();
test.before(() => qemuImg());

test('a GPT or MBR disk declared raw is accepted, recorded as gpt with its length as virtual size (qemu-img reads it as raw)', (t) => {
  for (const kind of ['gpt', 'mbr'] as const) {
    const path = write(dir, `${kind}.raw`, partitionedDisk(2 << 20, kind));
    const info = qemuInfo(path);
    t.is(info.format, 'raw');
    for (const chunk of [100, 4096, 1 << 20]) t.like(verdict(read(path), 'raw', chunk), { accepted: { format: 'gpt', virtual_size: info['virtual-size'] } }, kind);
    t.deepEqual(rulesOf(read(path), 'qcow2'), ['format-mismatch']);
  }
});

test('an MBR with a boot flag other than 0x00 or 0x80 is refused: mbr-boot-flag', (t) => {
  t.deepEqual(rulesOf(patched(partitionedDisk(1 << 20, 'mbr'), 446 + 16, Buffer.from([0x42])), 'raw'), ['mbr-boot-flag']);
});

test('a protective MBR with other partitions, or at the wrong start, or alone without a GPT header, is refused', (t) => {
  const gpt = partitionedDisk(1 << 20, 'gpt');
  t.deepEqual(rulesOf(patched(gpt, 446 + 16 + 4, Buffer.from([0x83])), 'raw'), ['mbr-protective']);
  t.deepEqual(rulesOf(patched(gpt, 446 + 8, Buffer.from([5, 0, 0, 0])), 'raw'), ['mbr-protective']);
  t.deepEqual(rulesOf(patched(gpt, 512, Buffer.from('NOT PART')), 'raw'), ['gpt-header']);
  // A 4 KiB-sector disk has its GPT header at 4096.
  t.deepEqual(rulesOf(patched(patched(gpt, 512, Buffer.alloc(8)), 4096, Buffer.from('EFI PART')), 'raw'), []);
});

test('a signature without any partition is refused; a FAT boot sector is no partition table', (t) => {
  const empty = Buffer.alloc(1 << 20);
  empty.writeUInt16LE(0xaa55, 510);
  t.deepEqual(rulesOf(empty, 'raw'), ['mbr-no-partition']);
  const fat = Buffer.from(empty);
  fat[0x10] = 2;
  fat[0x15] = 0xf8;
  t.like(verdict(fat, 'raw'), { accepted: { format: 'raw' } });
});

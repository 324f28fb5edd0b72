import test from 'ava';
import { CHUNK_SIZES, imageDir, patched, qemuCreate, qemuImg, qemuInfo, read, rulesOf, u32be, verdict } from './helpers/diskImages.ts';

// VHDX: the virtual size is found through the region table and the metadata table, each captured
// as the stream passes it; a VHDX whose tables cannot be read that way is refused, never guessed at.

const dir = imageDir();
test.before(() => qemuImg());

test('VHDXs from qemu-img read exactly as qemu-img info reads them, at any chunking', (t) => {
  for (const path of [qemuCreate(dir, 'small.vhdx', 'vhdx', '5M'), qemuCreate(dir, 'big.vhdx', 'vhdx', '64G', ['block_size=1M', 'log_size=1M'])]) {
    const info = qemuInfo(path);
    t.is(info.format, 'vhdx');
    for (const chunk of CHUNK_SIZES) {
      const v = verdict(read(path), 'vhdx', chunk);
      if (!('accepted' in v)) return t.fail(`${path}: ${v.message}`);
      t.like(v.accepted, { format: 'vhdx', virtual_size: info['virtual-size'] }, path);
    }
  }
});

test('a VHDX with a broken region table, too many entries, or cut before its metadata is refused', (t) => {
  const bytes = read(qemuCreate(dir, 'broken.vhdx', 'vhdx', '5M'));
  t.deepEqual(rulesOf(patched(bytes, 0x30000, Buffer.from('nope')), 'vhdx'), ['vhdx-header']);
  t.deepEqual(rulesOf(patched(bytes, 0x30008, u32be(0xffffff00)), 'vhdx'), ['vhdx-header']);
  t.deepEqual(rulesOf(bytes.subarray(0, 0x30000 + 100), 'vhdx'), ['truncated-header']);
  t.deepEqual(rulesOf(bytes.subarray(0, 0x40000), 'vhdx'), ['vhdx-header'], 'the metadata region is past the end');
  t.deepEqual(rulesOf(bytes, 'raw'), ['format-mismatch']);
});

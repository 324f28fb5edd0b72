import test from 'ava';
import { CHUNK_SIZES, imageDir, qemuCreate, qemuImg, qemuInfo, read, rulesOf, verdict } from './helpers/diskImages.ts';

const dir = imageDir();
test.before(() => qemuImg());

test('VDIs from qemu-img read exactly as qemu-img info reads them, at any chunking', (t) => {
  for (const path of [qemuCreate(dir, 'a.vdi', 'vdi', '5M'), qemuCreate(dir, 'static.vdi', 'vdi', '2M', ['static=on'])]) {
    const info = qemuInfo(path);
    t.is(info.format, 'vdi');
    for (const chunk of CHUNK_SIZES) t.like(verdict(read(path), 'vdi', chunk), { accepted: { format: 'vdi', virtual_size: info['virtual-size'] } }, path);
  }
});

test('a VDI cut within its header is refused; one declared otherwise is a mismatch', (t) => {
  const bytes = read(qemuCreate(dir, 'cut.vdi', 'vdi', '1M'));
  t.deepEqual(rulesOf(bytes.subarray(0, 0x100), 'vdi'), ['truncated-header']);
  t.deepEqual(rulesOf(bytes, 'qcow2'), ['format-mismatch']);
});

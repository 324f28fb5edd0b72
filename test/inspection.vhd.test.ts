import test from 'ava';
import { CHUNK_SIZES, imageDir, patched, qemuConvert, qemuCreate, qemuImg, qemuInfo, qemuNameOf, read, rulesOf, u32be, verdict } from './helpers/diskImages.ts';

// VHD (qemu's "vpc"): the dynamic VHDs qemu-img writes are accepted with the virtual size qemu-img
// computes (from the CHS geometry, or the footer's size for the creators qemu trusts).

const dir = imageDir();
test.before(() => qemuImg());

test('dynamic VHDs from qemu-img read exactly as qemu-img info reads them, at any chunking', (t) => {
  const cases = [qemuCreate(dir, 'chs.vhd', 'vpc', '5M'), qemuCreate(dir, 'sized.vhd', 'vpc', '5M', ['force_size=on']), qemuCreate(dir, 'big.vhd', 'vpc', '3G')];
  for (const path of cases) {
    const info = qemuInfo(path);
    for (const chunk of CHUNK_SIZES) {
      const v = verdict(read(path), 'vhd', chunk);
      if (!('accepted' in v)) return t.fail(`${path}: ${v.message}`);
      t.is(qemuNameOf(v.accepted.format), info.format);
      t.is(v.accepted.virtual_size, info['virtual-size'], path);
    }
  }
});

test('a fixed VHD (footer only at the end) is raw to qemu-img and to the inspector alike', (t) => {
  const path = qemuConvert(dir, qemuCreate(dir, 'source.raw', 'raw', '1M'), 'fixed.vhd', 'vpc', ['subformat=fixed']);
  t.is(qemuInfo(path).format, 'raw');
  t.like(verdict(read(path), 'raw'), { accepted: { format: 'raw' } });
  t.deepEqual(rulesOf(read(path), 'vhd'), ['format-mismatch']);
});

test('a differencing VHD (it names a parent file) and a truncated footer are refused', (t) => {
  const bytes = read(qemuCreate(dir, 'diff.vhd', 'vpc', '1M'));
  t.deepEqual(rulesOf(patched(bytes, 60, u32be(4)), 'vhd'), ['vhd-differencing']);
  t.deepEqual(rulesOf(bytes.subarray(0, 100), 'vhd'), ['truncated-header']);
  t.deepEqual(rulesOf(bytes, 'qcow2'), ['format-mismatch']);
});

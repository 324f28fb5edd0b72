import test from 'ava';
import { execFileSync } from 'node:child_process';
import { CAP, CHUNK_SIZES, imageDir, patched, qemuCreate, qemuImg, qemuInfo, read, rulesOf, u32be, u64be, verdict } from './helpers/diskImages.ts';

// qcow2: what qemu-img itself writes is accepted with qemu-img's own virtual size, cluster size and
// compat; every header that makes qemu-img read another file, or that this reader cannot vouch for,
// is refused by name.

const dir = imageDir();
test.before(() => qemuImg());

test('qcow2 images qemu-img creates (compat 1.1 and 0.10, several cluster sizes) read exactly as qemu-img info reads them, at any chunking', (t) => {
  const cases = [
    qemuCreate(dir, 'v3.qcow2', 'qcow2', '5M'),
    qemuCreate(dir, 'v2.qcow2', 'qcow2', '3M', ['compat=0.10']),
    qemuCreate(dir, 'small-clusters.qcow2', 'qcow2', '1G', ['cluster_size=4096']),
    qemuCreate(dir, 'big-clusters.qcow2', 'qcow2', '7M', ['cluster_size=2M']),
  ];
  for (const path of cases) {
    const info = qemuInfo(path);
    t.is(info.format, 'qcow2');
    for (const chunk of CHUNK_SIZES) {
      const v = verdict(read(path), 'qcow2', chunk);
      if (!('accepted' in v)) return t.fail(`${path}: ${v.message}`);
      t.like(v.accepted, { format: 'qcow2', virtual_size: info['virtual-size'], cluster_size: info['cluster-size'], compat: info['format-specific']?.data?.compat }, path);
    }
  }
});

test('a qcow2 with a backing file (/etc/passwd) is refused: qcow2-backing-file', (t) => {
  const path = `${dir}/backed.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', path, '1M'], { stdio: 'ignore' });
  t.is((qemuInfo(path) as unknown as { 'backing-filename': string })['backing-filename'], '/etc/passwd', 'qemu-img would follow it');
  t.deepEqual(rulesOf(read(path), 'qcow2'), ['qcow2-backing-file']);
});

test('a qcow2 with an external data file is refused: qcow2-data-file (the feature bit, or the header extension alone)', (t) => {
  const path = `${dir}/data-file.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-o', `data_file=${dir}/data.raw`, path, '1M'], { stdio: 'ignore' });
  const bytes = read(path);
  t.deepEqual(rulesOf(bytes, 'qcow2'), ['qcow2-data-file']);
  // The bit cleared, the extension still there: still refused.
  t.deepEqual(rulesOf(patched(bytes, 72, u64be(0n)), 'qcow2'), ['qcow2-data-file']);
});

test('unknown incompatible feature bits (extended L2 and above) are refused; the known harmless ones are not', (t) => {
  const bytes = read(qemuCreate(dir, 'features.qcow2', 'qcow2', '1M'));
  t.deepEqual(rulesOf(patched(bytes, 72, u64be(1n << 4n)), 'qcow2'), ['qcow2-unknown-features']);
  t.deepEqual(rulesOf(patched(bytes, 72, u64be(1n << 63n)), 'qcow2'), ['qcow2-unknown-features']);
  t.deepEqual(rulesOf(patched(bytes, 72, u64be(0b1011n)), 'qcow2'), [], 'dirty, corrupt and compression type are known');
});

test('qcow2 version 1 (and any but 2 and 3) is refused: qcow2-version', (t) => {
  const bytes = read(qemuCreate(dir, 'version.qcow2', 'qcow2', '1M'));
  t.deepEqual(rulesOf(patched(bytes, 4, u32be(1)), 'qcow2'), ['qcow2-version']);
  t.deepEqual(rulesOf(patched(bytes, 4, u32be(4)), 'qcow2'), ['qcow2-version']);
});

test('a qcow2 cut to 100 bytes is refused as a truncated header, whatever is declared', (t) => {
  const bytes = read(qemuCreate(dir, 'cut.qcow2', 'qcow2', '1M')).subarray(0, 100);
  t.deepEqual(rulesOf(bytes, 'qcow2'), ['truncated-header']);
  t.true(rulesOf(bytes, 'raw').includes('truncated-header'));
});

test('a qcow2 claiming 2^62 bytes is refused by the virtual size cap; the cap is the configured one', (t) => {
  const bytes = patched(read(qemuCreate(dir, 'huge.qcow2', 'qcow2', '1M')), 24, u64be(2n ** 62n));
  t.deepEqual(rulesOf(bytes, 'qcow2'), ['virtual-size-cap']);
  const real = read(qemuCreate(dir, 'capped.qcow2', 'qcow2', '5M'));
  t.deepEqual(rulesOf(real, 'qcow2', undefined, 5 * 2 ** 20), [], 'at the cap: accepted');
  t.deepEqual(rulesOf(real, 'qcow2', undefined, 5 * 2 ** 20 - 1), ['virtual-size-cap']);
  t.true(CAP >= 2 ** 40);
});

test('a qcow2 declared raw, and raw bytes declared qcow2, are refused: format-mismatch', (t) => {
  const bytes = read(qemuCreate(dir, 'mismatch.qcow2', 'qcow2', '1M'));
  t.deepEqual(rulesOf(bytes, 'raw'), ['format-mismatch']);
  t.deepEqual(rulesOf(read(qemuCreate(dir, 'plain.raw', 'raw', '1M')), 'qcow2'), ['format-mismatch']);
  t.deepEqual(rulesOf(bytes, undefined), [], 'no declared format: nothing to contradict');
});

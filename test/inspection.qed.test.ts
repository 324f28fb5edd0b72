import test from 'ava';
import { imageDir, qemuCreate, qemuImg, qemuInfo, read, rulesOf } from './helpers/diskImages.ts';

// QED is recognised only to be refused (like Glance): whatever the record declares.

const dir = imageDir();
test.before(() => qemuImg());

test('a QED image from qemu-img is refused by name, declared as anything or nothing', (t) => {
  const path = qemuCreate(dir, 'a.qed', 'qed', '4M');
  t.is(qemuInfo(path).format, 'qed');
  t.deepEqual(rulesOf(read(path), undefined), ['qed']);
  t.deepEqual(rulesOf(read(path), 'raw'), ['qed', 'format-mismatch']);
  t.deepEqual(rulesOf(read(path).subarray(0, 10), undefined), ['qed']);
});

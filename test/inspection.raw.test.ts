import test from 'ava';
import { randomBytes } from 'node:crypto';
import { CapturedRegions, TAIL_BYTES } from '../src/inspection/CapturedRegions.ts';
import { imageDir, qemuCreate, qemuImg, qemuInfo, read, rulesOf, verdict, write } from './helpers/diskImages.ts';

// Raw: whatever no reader recognises, its length its virtual size. And the capture under every
// reader: regions and the tail come out the same however the stream is cut into chunks.

const dir = imageDir();
test.before(() => qemuImg());

test('random bytes and an empty file are raw, with their length as virtual size, as qemu-img reads them', (t) => {
  const path = write(dir, 'random.raw', randomBytes(300_000));
  t.is(qemuInfo(path).format, 'raw');
  t.like(verdict(read(path), 'raw'), { accepted: { format: 'raw', virtual_size: qemuInfo(path)['virtual-size'] } });
  t.like(verdict(Buffer.alloc(0), 'raw'), { accepted: { format: 'raw', virtual_size: 0 } });
  t.like(verdict(read(qemuCreate(dir, 'sparse.raw', 'raw', '3M')), undefined), { accepted: { format: 'raw', virtual_size: 3 << 20 } });
});

test('raw bytes are refused under a format they are not; formats no reader knows (ami, aki, ari, ploop) take raw bytes', (t) => {
  const bytes = randomBytes(10_000);
  bytes.writeUInt16LE(0, 510);
  for (const disk of ['qcow2', 'vmdk', 'vhd', 'vhdx', 'vdi', 'iso']) t.deepEqual(rulesOf(bytes, disk), ['format-mismatch'], disk);
  for (const disk of ['ami', 'aki', 'ari', 'ploop', 'none']) t.deepEqual(rulesOf(bytes, disk), [], disk);
});

test('a raw file larger than the virtual size cap is refused', (t) => {
  t.deepEqual(rulesOf(Buffer.alloc(5000), 'raw', undefined, 4999), ['virtual-size-cap']);
});

test('captured regions and the tail are the same whatever the chunking, and a region asked for after the stream passed it is missed, not made up', (t) => {
  const file = randomBytes(70_000);
  for (const chunk of [1, 3, 511, 1536, 1537, 4096, 70_000]) {
    const c = new CapturedRegions();
    c.want([{ offset: 0, length: 512 }, { offset: 0x8000, length: 2048 }, { offset: 69_990, length: 100 }]);
    for (let at = 0; at < file.length; at += chunk) {
      const piece = file.subarray(at, at + chunk);
      const start = c.advance(piece);
      c.capture(piece, start);
    }
    c.want([{ offset: 100, length: 10 }]);
    c.end();
    t.deepEqual(c.at(0, 512), file.subarray(0, 512), `head, chunks of ${chunk}`);
    t.deepEqual(c.at(0x8000, 2048), file.subarray(0x8000, 0x8800));
    t.deepEqual(c.at(0x8010, 16), file.subarray(0x8010, 0x8020), 'inside a region');
    t.is(c.at(69_990, 100), undefined, 'past the end of the file');
    t.deepEqual(c.prefix(69_990, 100), file.subarray(69_990));
    t.deepEqual(c.at(100, 10), file.subarray(100, 110), 'filled from a region that holds it');
    t.is(c.at(40_000, 10), undefined, 'never asked for');
    t.deepEqual(c.tail(TAIL_BYTES), file.subarray(-TAIL_BYTES));
    t.is(c.size, file.length);
  }
});

test('hostile bytes never break the inspection: random damage to real headers is accepted or refused by a rule, never a crash', (t) => {
  // A fixed seed: a failure names a case that can be replayed.
  let seed = 0x5eed;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bases = [
    read(qemuCreate(dir, 'fuzz.qcow2', 'qcow2', '1M')),
    read(qemuCreate(dir, 'fuzz.vmdk', 'vmdk', '1M')),
    read(qemuCreate(dir, 'fuzz.vhd', 'vpc', '1M')),
    read(qemuCreate(dir, 'fuzz.vdi', 'vdi', '1M')),
    read(qemuCreate(dir, 'fuzz.vhdx', 'vhdx', '1M')),
  ];
  let cases = 0;
  for (const base of bases) {
    // Where the readers look: the first sectors, the VHDX region table and its metadata.
    const hot = [0, 0x30000, base.length > 0x200000 ? 0x200000 : 0];
    for (let i = 0; i < 150; i++) {
      const damaged = Buffer.from(base);
      for (let k = 1 + random(8); k > 0; k--) damaged[hot[random(hot.length)]! + random(1024)] = random(256);
      const cut = random(4) === 0 ? damaged.subarray(0, random(damaged.length)) : damaged;
      t.notThrows(() => verdict(cut, undefined, 1 + random(70_000)), `case ${cases}`);
      cases++;
    }
  }
});

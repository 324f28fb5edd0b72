/**
 * Disk images for the format-inspection tests: built by the real qemu-img (installed by
 * test/inspection/ensure-qemu-img.sh when missing) or crafted byte by byte where qemu-img would not
 * write such a file, and read back by both the inspector and `qemu-img info`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatInspection, type InspectedFile } from '../../src/inspection/FormatInspection.ts';
import { verdictOn } from '../../src/inspection/InspectionVerdict.ts';
import type { ImageInspection } from '../../src/api/ImageRecord.ts';
import { VisorError } from '../../src/errors/VisorError.ts';

let qemuImgPath: string | undefined;

/** qemu-img's path, installing Debian's qemu-utils first if needed (the suite's runner has done it already). */
export function qemuImg(): string {
  qemuImgPath ??= execFileSync('bash', [join(import.meta.dirname, '../inspection/ensure-qemu-img.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return qemuImgPath;
}

/** A fresh directory for one test file's images. */
export function imageDir(): string {
  return mkdtempSync(join(tmpdir(), 'visor-inspection-'));
}

/** `qemu-img create -f <format> <path> <size>` (with -o options), answers the path. */
export function qemuCreate(dir: string, name: string, format: string, size: string, options: string[] = []): string {
  const path = join(dir, name);
  execFileSync(qemuImg(), ['create', '-q', '-f', format, ...options.flatMap((o) => ['-o', o]), path, size], { stdio: 'ignore' });
  return path;
}

/** `qemu-img convert -O <format>` of a file, answers the path. */
export function qemuConvert(dir: string, from: string, name: string, format: string, options: string[] = []): string {
  const path = join(dir, name);
  execFileSync(qemuImg(), ['convert', '-q', '-O', format, ...options.flatMap((o) => ['-o', o]), from, path], { stdio: 'ignore' });
  return path;
}

export interface QemuInfo {
  format: string;
  'virtual-size': number;
  'cluster-size'?: number;
  'format-specific'?: { data?: { compat?: string; 'create-type'?: string } };
}

/** What the real qemu-img makes of the file, probing its format as a careless consumer would. */
export function qemuInfo(path: string): QemuInfo {
  return JSON.parse(execFileSync(qemuImg(), ['info', '-U', '--output=json', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as QemuInfo;
}

/** qemu-img's name of a format the inspector detects (an ISO or a partition table is raw to qemu). */
export function qemuNameOf(format: string): string {
  return format === 'vhd' ? 'vpc' : format === 'iso' || format === 'gpt' ? 'raw' : format;
}

/** The file fed to a fresh inspection in chunks of `chunk` bytes, as a stream would. */
export function inspect(bytes: Buffer, chunk = 65536): InspectedFile {
  const inspection = new FormatInspection();
  for (let at = 0; at < bytes.length; at += chunk) inspection.push(bytes.subarray(at, at + chunk));
  return inspection.finish();
}

/** Chunk sizes the readers must give the same answer for: regions split across chunks, or within one. */
export const CHUNK_SIZES = [509, 4096, 65536, 1 << 22];

export const CAP = 2 ** 46;

/** The verdict on the bytes declared as `disk`: what would be recorded, or the rules named in the 400. */
export function verdict(bytes: Buffer, disk: string | undefined, chunk?: number, cap = CAP): { accepted: ImageInspection } | { rules: string[]; message: string } {
  try {
    return { accepted: verdictOn(inspect(bytes, chunk), disk, { maxVirtualSize: cap }) };
  } catch (e) {
    if (!(e instanceof VisorError) || e.kind !== 'invalid') throw e;
    return { rules: e.problems.map((p) => p.rule), message: e.message };
  }
}

/** The rules a file breaks (empty when accepted). */
export function rulesOf(bytes: Buffer, disk: string | undefined, chunk?: number, cap?: number): string[] {
  const v = verdict(bytes, disk, chunk, cap);
  return 'rules' in v ? v.rules : [];
}

export function read(path: string): Buffer {
  return readFileSync(path);
}

export function write(dir: string, name: string, bytes: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/** A copy of the bytes with `patch` written at `offset`. */
export function patched(bytes: Buffer, offset: number, patch: Buffer): Buffer {
  const copy = Buffer.from(bytes);
  patch.copy(copy, offset);
  return copy;
}

export function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function u64be(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

export function u64le(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}

/**
 * A minimal ISO 9660 image: a system area (zeros unless given), a primary volume descriptor at
 * 32 KiB naming `blocks` blocks of 2048 bytes, and the set terminator.
 */
export function isoImage(blocks = 24, systemArea?: Buffer): Buffer {
  const iso = Buffer.alloc(blocks * 2048);
  systemArea?.copy(iso, 0, 0, Math.min(systemArea.length, 0x8000));
  const pvd = iso.subarray(0x8000, 0x8800);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pvd.writeUInt32LE(blocks, 80);
  pvd.writeUInt32BE(blocks, 84);
  pvd.writeUInt16LE(2048, 128);
  pvd.writeUInt16BE(2048, 130);
  const end = iso.subarray(0x8800, 0x9000);
  end[0] = 255;
  end.write('CD001', 1, 'latin1');
  end[6] = 1;
  return iso;
}

/**
 * A disk with a partition table: a protective MBR and a GPT header at LBA 1 (`gpt`), or an MBR with
 * one Linux partition, over `bytes` bytes.
 */
export function partitionedDisk(bytes: number, kind: 'gpt' | 'mbr'): Buffer {
  const disk = Buffer.alloc(bytes);
  const entry = disk.subarray(446, 462);
  if (kind === 'gpt') {
    entry.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff]);
    entry.writeUInt32LE(1, 8);
    entry.writeUInt32LE(bytes / 512 - 1, 12);
    disk.write('EFI PART', 512, 'latin1');
  } else {
    entry.set([0x80, 0x00, 0x21, 0x00, 0x83, 0x00, 0x00, 0x00]);
    entry.writeUInt32LE(1, 8);
    entry.writeUInt32LE(bytes / 512 - 1, 12);
  }
  disk.writeUInt16LE(0xaa55, 510);
  return disk;
}

/** A LUKS header of the version (qemu writes only version 1; version 2 is crafted). */
export function luksHeader(version: number, bytes = 8192): Buffer {
  const b = Buffer.alloc(bytes);
  Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]).copy(b);
  b.writeUInt16BE(version, 6);
  b.write('aes', 8, 'latin1');
  b.write('xts-plain64', 40, 'latin1');
  b.write('sha256', 72, 'latin1');
  b.writeUInt32BE(8, 104);
  b.writeUInt32BE(32, 108);
  return b;
}

import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** What a folder holds (names, or files below it); nothing when the folder does not exist. */
export function namesIn(dir: string): Promise<string[]> {
  return whenPresent(readdir(dir), []);
}

/** The files below a folder, as paths relative to `root`; none when the folder does not exist. */
export async function filesBelow(root: string, folder: string): Promise<string[]> {
  const entries = await whenPresent(readdir(join(root, folder), { recursive: true, withFileTypes: true }), []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath.slice(root.length + 1), e.name));
}

async function whenPresent<T>(reading: Promise<T>, absent: T): Promise<T> {
  try {
    return await reading;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return absent;
    throw e;
  }
}

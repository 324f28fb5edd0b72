import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { unavailable } from '../errors/VisorError.ts';

/**
 * Replaces a file whole and durably: a temporary file is written and fsynced, renamed over the old
 * one, and the directory fsynced, so a crash leaves either the old or the new content, never half.
 * The mode applies to the new file (instance state such as accounts is owner-only).
 */
export async function writeFileAtomic(path: string, content: string, mode = 0o600): Promise<void> {
  try {
    await replace(path, content, mode);
  } catch (error) {
    // A full or failing disk: the change is refused (503) and the old file stays as it was.
    throw unavailable(`could not save ${path}: ${(error as Error).message}`, error);
  }
}

async function replace(path: string, content: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  const file = await open(temp, 'w', mode);
  try {
    await file.writeFile(content);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temp, { force: true });
    throw error;
  }
  await file.close();
  await rename(temp, path);
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

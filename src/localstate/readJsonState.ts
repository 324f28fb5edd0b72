import { readFile } from 'node:fs/promises';
import { invalidField } from '../errors/VisorError.ts';

/**
 * Reads an instance-local state file. A missing file is a first start (undefined); an unreadable one
 * stops the daemon with its name, since starting afresh would silently drop accounts or grants.
 */
export async function readJsonState(path: string, setting: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalidField(setting, 'readable', `a readable file at ${path}`, `cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalidField(setting, 'json', `valid JSON in ${path}`, `${path} is not valid JSON (${(e as Error).message}); restore it from a backup`);
  }
}

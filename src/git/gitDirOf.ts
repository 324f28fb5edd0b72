import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/**
 * The git directory of a work tree: its `.git` folder, or where a `.git` file points (a worktree,
 * a submodule). Undefined when the folder is no git work tree. Synchronous: it runs before anything
 * else of a start, under the data directory's lock.
 */
export function gitDirOf(dir: string): string | undefined {
  const dotGit = join(dir, '.git');
  let isDir: boolean;
  try {
    isDir = statSync(dotGit).isDirectory();
  } catch {
    return undefined;
  }
  if (isDir) return dotGit;
  const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'))?.[1]?.trim();
  return pointer ? resolve(dirname(dotGit), pointer) : undefined;
}

import { copyFile, mkdir, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { filesBelow, namesIn } from '../localstate/folderNames.ts';
import { dirname, join } from 'node:path';
import type { GitRunner } from '../git/GitRunner.ts';

/** What a start found left behind by a process that stopped without closing (a crash, kill -9, power loss). */
export interface LeftBehind {
  /** Git lock files and temporary files removed, relative to the git dir. */
  removed: string[];
  /** Working-tree paths that differed from the committed head: never acknowledged, now set aside. */
  strays: string[];
  /** Where the strays' contents were moved (absent when there were none). */
  setAsideIn?: string;
}

/**
 * Git state files that only a git process in the middle of an operation leaves: a lock is taken by
 * creating `<file>.lock` and released by renaming it over `<file>`, so one found at a start (with the
 * data directory's lock held: no other daemon runs here) belongs to a process that is gone. Left,
 * every later git command that needs the same lock fails, and the daemon with it.
 */
const INTERRUPTED_MERGE = ['MERGE_HEAD', 'MERGE_MSG', 'MERGE_MODE', 'MERGE_AUTOSTASH', 'AUTO_MERGE'];

/**
 * Removes what git processes killed mid-operation leave in `gitDir`: lock files (index, HEAD, refs,
 * packed-refs, config, commit-graph chain), an interrupted merge's state, fast-import's unfinished
 * packs and the daemon's own temporary files.
 */
export async function removeStaleGitState(gitDir: string): Promise<string[]> {
  const removed: string[] = [];
  const drop = async (relative: string): Promise<void> => {
    // A git child of the killed daemon may outlive it for a moment (its locks are not the data
    // directory's): a lock still changing is waited for, one left alone for a while is stale.
    if (!(await settled(join(gitDir, relative)))) return;
    await unlink(join(gitDir, relative)).then(
      () => removed.push(relative),
      (e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      },
    );
  };
  for (const name of await namesIn(gitDir)) {
    if (name.endsWith('.lock') || INTERRUPTED_MERGE.includes(name) || /^visor-[0-9a-f]+\.tmp$/.test(name)) await drop(name);
  }
  for (const folder of ['refs', 'logs', join('objects', 'info')]) {
    for (const path of await filesBelow(gitDir, folder)) if (path.endsWith('.lock')) await drop(path);
  }
  const packs = join('objects', 'pack');
  for (const name of await namesIn(join(gitDir, packs))) if (name.startsWith('tmp_')) await drop(join(packs, name));
  return removed;
}

/** How long a lock must stay untouched before a start takes it for a dead process's. */
const LOCK_QUIET_MS = 2000;
const LOCK_WAIT_MS = 15_000;

/** Waits until the file is gone (false) or has not changed for LOCK_QUIET_MS (true), at most LOCK_WAIT_MS. */
async function settled(path: string): Promise<boolean> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const s = await stat(path).catch(() => undefined);
    if (!s) return false;
    const quiet = Date.now() - Math.max(s.mtimeMs, s.ctimeMs);
    if (quiet >= LOCK_QUIET_MS || Date.now() >= until) return true;
    await new Promise((r) => setTimeout(r, Math.min(LOCK_QUIET_MS - quiet, 500)));
  }
}

/** Present while a sync's merge is on the branch but not yet checked; holds the commit before it. */
const SYNC_MARK = join('visor', 'sync-in-progress');

export async function markSyncInProgress(gitDir: string, before: string): Promise<void> {
  const file = await open(join(gitDir, SYNC_MARK), 'w');
  try {
    await file.writeFile(`${before}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
}

export async function clearSyncInProgress(gitDir: string): Promise<void> {
  await rm(join(gitDir, SYNC_MARK), { force: true });
}

/**
 * A sync stopped between moving the branch and the end of its checks left unchecked upstream
 * commits on it: the branch goes back to where the sync found it (the working tree follows with
 * setStraysAside). The next sync fetches and checks them again. Answers the commit undone, if any.
 */
export async function undoInterruptedSync(gitDir: string, git: GitRunner): Promise<string | undefined> {
  const before = (await readFile(join(gitDir, SYNC_MARK), 'utf8').catch(() => '')).trim();
  if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(before)) return undefined;
  const head = await git.revParse('HEAD');
  if (head !== before) await git.run(['reset', '-q', before]);
  await clearSyncInProgress(gitDir);
  return head !== before ? head : undefined;
}

/**
 * Brings the working tree back to the committed head. The daemon writes a record's file just before
 * the commit that acknowledges it, so after a crash the tree can hold records nobody was told were
 * saved (or that were refused): serving them would publish what was never acknowledged. Every
 * path that differs from HEAD (changed, added, deleted) is restored from HEAD; the files found there
 * are first moved to `strayRoot/<time>/` for the operator, never silently lost. The index must match
 * HEAD already (CatalogWriter.open mends one a crash left behind).
 */
export async function setStraysAside(dir: string, git: GitRunner, strayRoot: string): Promise<Pick<LeftBehind, 'strays' | 'setAsideIn'>> {
  const status = await git.run(['status', '--porcelain=v1', '-z', '--no-renames', '--untracked-files=all']);
  const strays = status.stdout
    .split('\0')
    .filter((entry) => entry.length > 3)
    .map((entry) => entry.slice(3));
  if (strays.length === 0) return { strays };
  const setAsideIn = join(strayRoot, new Date().toISOString().replace(/[:.]/g, '-'));
  for (const path of strays) {
    const target = join(setAsideIn, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await moveFile(join(dir, path), target);
  }
  // Tracked paths come back as HEAD has them; untracked ones were moved away above.
  await git.run(['reset', '-q', '--hard', 'HEAD']);
  return { strays, setAsideIn };
}

/** Moves a file, across file systems too; a path with no file (a deletion) moves nothing. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code !== 'EXDEV') throw e;
    await copyFile(from, to);
    await rm(from, { force: true });
  }
}

import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';
import { conflict } from '../errors/VisorError.ts';

export interface MirrorRound {
  cloned: boolean;
  before: string | undefined;
  after: string | undefined;
}

/**
 * One round of mirroring: clone the catalogue if the folder has none, otherwise fetch and
 * fast-forward. A mirror never has changes of its own, so anything but a fast-forward is an error
 * (someone edited the mirror, or the source rewrote history or went back to an older head).
 */
export async function mirrorOnce(url: string, dir: string): Promise<MirrorRound> {
  const exists = await access(join(dir, '.git')).then(() => true, () => false);
  if (!exists) {
    await new GitRunner('.').run(['clone', '--quiet', url, dir]);
    const after = await new GitRunner(dir).revParse('HEAD');
    return { cloned: true, before: undefined, after };
  }
  const git = new GitRunner(dir);
  const before = await git.revParse('HEAD');
  await git.run(['fetch', '--quiet', 'origin']);
  // A source that went back would be "already up to date" to a fast-forward: a rollback is said, not passed over.
  const offered = await git.revParse('@{upstream}');
  if (before !== undefined && offered !== undefined && offered !== before && (await git.run(['merge-base', '--is-ancestor', offered, before]).then(() => true, () => false))) {
    throw conflict(`mirror ${dir}: ${url} went back to ${offered.slice(0, 12)}, older than ${before.slice(0, 12)} which this mirror already has; a rollback is refused (the mirror stays where it is)`);
  }
  try {
    await git.run(['merge', '--ff-only', '--quiet', '@{upstream}']);
  } catch (e) {
    throw conflict(`mirror ${dir} cannot fast-forward to ${url}: ${(e as Error).message.split('\n').pop() ?? ''}`);
  }
  return { cloned: false, before, after: await git.revParse('HEAD') };
}

import type { GitRunner } from '../git/GitRunner.ts';
import type { GitObjectReader } from '../git/GitObjectReader.ts';
import { ROOT_FILE, TRUST_SIGNATURES_FILE } from './CatalogLayout.ts';
import type { TrustFileState } from '../trust/TrustRootChecks.ts';

/** More root versions than any catalogue rotates through in one push or sync: a bound on what a hostile history costs. */
const MAX_STATES = 256;

/**
 * The trust roots and their signatures after each commit from `base` (excluded) to `target` that
 * touched either, oldest first, along first parents: the steps a follower several rotations behind
 * walks, as a TUF client walks root versions one by one.
 */
export async function trustFilesAlong(git: GitRunner, reader: GitObjectReader, base: string, target: string): Promise<TrustFileState[]> {
  const log = (await git.run(['log', '--first-parent', '--reverse', '--format=%H', `--max-count=${MAX_STATES}`, '--end-of-options', `${base}..${target}`, '--', ROOT_FILE, TRUST_SIGNATURES_FILE])).stdout;
  const commits = log.split('\n').filter((c) => /^[0-9a-f]{40,64}$/.test(c));
  return Promise.all(commits.map(async (c) => ({ root: await reader.text(`${c}:${ROOT_FILE}`), signatures: await reader.text(`${c}:${TRUST_SIGNATURES_FILE}`) })));
}

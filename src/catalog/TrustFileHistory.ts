import type { GitRunner } from '../git/GitRunner.ts';
import type { GitObjectReader } from '../git/GitObjectReader.ts';
import { ROOT_FILE, TRUST_SIGNATURES_FILE } from './CatalogLayout.ts';
import type { TrustFileState } from '../trust/TrustRootChecks.ts';
import { MAX_TRUST_FILE_BYTES } from '../trust/TrustRoots.ts';

/** More root versions than any catalogue rotates through in one push or sync: a bound on what a hostile history costs. */
const MAX_STATES = 256;

/**
 * The trust roots and their signatures after each commit from `base` (excluded; undefined: from the
 * first commit) to `target` that touched either, oldest first, along first parents: the steps a
 * follower several rotations behind walks, as a TUF client walks root versions one by one.
 */
export async function trustFilesAlong(git: GitRunner, reader: GitObjectReader, base: string | undefined, target: string): Promise<TrustFileState[]> {
  const range = base === undefined ? target : `${base}..${target}`;
  const log = (await git.run(['log', '--first-parent', '--reverse', '--format=%H', `--max-count=${MAX_STATES}`, '--end-of-options', range, '--', ROOT_FILE, TRUST_SIGNATURES_FILE])).stdout;
  const commits = log.split('\n').filter((c) => /^[0-9a-f]{40,64}$/.test(c));
  const texts = await trustFileTexts(git, reader, commits.flatMap((c) => [`${c}:${ROOT_FILE}`, `${c}:${TRUST_SIGNATURES_FILE}`]));
  return commits.map((_, i) => ({ root: texts[2 * i]!.text, signatures: texts[2 * i + 1]!.text }));
}

/**
 * Trust files' texts (`commit:path` each), sized first in one `git cat-file --batch-check`: a file
 * over MAX_TRUST_FILE_BYTES is not read (only its size is answered), so that what an upstream offers
 * costs nothing beyond the bound before its history has been checked.
 */
export async function trustFileTexts(git: GitRunner, reader: GitObjectReader, specs: readonly string[]): Promise<Array<{ text?: string; size?: number }>> {
  if (specs.length === 0) return [];
  const lines = (await git.run(['cat-file', '--batch-check=%(objecttype) %(objectsize)'], { input: `${specs.join('\n')}\n` })).stdout.split('\n');
  return Promise.all(
    specs.map(async (spec, i) => {
      const [type, size] = (lines[i] ?? '').split(' ');
      if (type !== 'blob' || size === undefined || !/^\d+$/.test(size)) return {};
      if (Number(size) > MAX_TRUST_FILE_BYTES) return { size: Number(size) };
      const text = await reader.text(spec);
      return text === undefined ? {} : { text, size: Number(size) };
    }),
  );
}

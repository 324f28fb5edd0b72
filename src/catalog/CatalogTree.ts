import type { GitRunner } from '../git/GitRunner.ts';

/** A version of the catalogue's files: a commit, the staging index, or nothing (before the first commit). */
export type TreeRef = { kind: 'commit'; rev: string } | { kind: 'index' } | { kind: 'empty' };

export const EMPTY: TreeRef = { kind: 'empty' };
export const INDEX: TreeRef = { kind: 'index' };
export const commitRef = (rev: string): TreeRef => ({ kind: 'commit', rev });

/** Every file of a tree with its blob id: the cheap listing (~70 ms for 100,000 files) everything else starts from. */
export async function listTree(git: GitRunner, ref: TreeRef): Promise<Map<string, string>> {
  const entries = new Map<string, string>();
  if (ref.kind === 'empty') return entries;
  const out = ref.kind === 'index' ? (await git.run(['ls-files', '-s', '-z'])).stdout : (await git.run(['ls-tree', '-r', '-z', '--full-tree', ref.rev])).stdout;
  for (const line of out.split('\0')) {
    const tab = line.indexOf('\t');
    if (tab < 0) continue;
    const meta = line.slice(0, tab).split(' ');
    // ls-files: "<mode> <oid> <stage>"; ls-tree: "<mode> <type> <oid>".
    const oid = ref.kind === 'index' ? meta[1] : meta[2];
    if (oid) entries.set(line.slice(tab + 1), oid);
  }
  return entries;
}

export function describeTree(ref: TreeRef): string {
  return ref.kind === 'commit' ? ref.rev : ref.kind === 'index' ? 'the staged index' : 'the empty tree';
}

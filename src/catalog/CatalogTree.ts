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

export interface TreeChange {
  path: string;
  /** Blob ids before and after (all zeros where the file did not exist). */
  before: string;
  after: string;
  status: 'A' | 'M' | 'D' | 'T';
}

/** The files that differ between two commits, by `git diff-tree`: proportional to the change. */
export async function diffCommits(git: GitRunner, from: string, to: string): Promise<TreeChange[]> {
  const out = (await git.run(['diff-tree', '-r', '-z', '--no-renames', from, to])).stdout.split('\0');
  const changes: TreeChange[] = [];
  // Records of ":<old mode> <new mode> <old id> <new id> <status>" then the path.
  for (let i = 0; i + 1 < out.length; i += 2) {
    const [, , before = '', after = '', status] = out[i]!.split(' ');
    changes.push({ path: out[i + 1]!, before, after, status: status as TreeChange['status'] });
  }
  return changes;
}

export function describeTree(ref: TreeRef): string {
  return ref.kind === 'commit' ? ref.rev : ref.kind === 'index' ? 'the staged index' : 'the empty tree';
}

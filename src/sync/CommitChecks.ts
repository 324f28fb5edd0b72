import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { GitObjectReader } from '../git/GitObjectReader.ts';
import type { GitRunner } from '../git/GitRunner.ts';
import { checkCommitSignature } from '../trust/CommitSignature.ts';
import type { SshPublicKey } from '../trust/SshKeys.ts';

/** The most commits one update checks (a first sync checks only the tip); beyond it, the update is refused. */
export const MAX_CHECKED_COMMITS = 100_000;

/**
 * The commits an update brings on the branch's first-parent line (what the upstream itself
 * committed, or fast-forwarded to): since `last`, the head last taken, or the tip alone on a first
 * update, whose history before it is vouched for by the tip's signature and the head statement.
 */
export async function firstParentCommits(git: GitRunner, tip: string, last: string | undefined): Promise<string[]> {
  if (last === undefined) return [tip];
  return (await git.run(['rev-list', '--first-parent', `--max-count=${MAX_CHECKED_COMMITS + 1}`, tip, `^${last}`])).stdout.split('\n').filter(Boolean);
}

/**
 * Every one of `commits` must carry a good SSH signature (as `git verify-commit` checks one) by one
 * of `allowed`: the upstream's pinned key, and the keys of whoever else it carries commits from.
 * Answers one problem per commit that does not, naming the commit, its signer and the rule.
 */
export async function commitSignatureProblems(dir: string, commits: readonly string[], allowed: readonly SshPublicKey[], source: string): Promise<FileProblem[]> {
  const expected = `commits SSH-signed (gpgsig, namespace git) by ${allowed.map((k) => k.fingerprint).join(' or ')}`;
  if (commits.length > MAX_CHECKED_COMMITS) {
    return [{ file: '(history)', field: '(commits)', rule: 'commit-signature', expected, message: `${source} brings more than ${MAX_CHECKED_COMMITS} commits at once: too many to check` }];
  }
  const trusted = new Set(allowed.map((k) => k.fingerprint));
  const reader = new GitObjectReader(dir);
  const problems: FileProblem[] = [];
  try {
    for (const id of commits) {
      const object = await reader.object(id);
      const refuse = (rule: string, why: string) => problems.push({ file: '(history)', field: `(commit ${id.slice(0, 12)})`, rule, expected, message: `${source}: commit ${id.slice(0, 12)} ${why}` });
      if (!object || object.type !== 'commit') {
        refuse('commit-signature', 'is not a commit here');
        continue;
      }
      const check = checkCommitSignature(object.body);
      if (check.state === 'unsigned') refuse('commit-unsigned', 'is not signed');
      else if (check.state === 'bad') refuse('commit-signature', `carries a signature that does not verify (${check.reason}): the commit was changed after signing, or forged`);
      else if (!trusted.has(check.key.fingerprint)) refuse('commit-signer', `is signed by ${check.key.fingerprint}, which is not a key this upstream's commits may be signed by`);
    }
  } finally {
    reader.close();
  }
  return problems;
}

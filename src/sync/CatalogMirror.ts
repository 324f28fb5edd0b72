import { access, mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';
import { gitDirOf } from '../git/gitDirOf.ts';
import { conflict, invalidField } from '../errors/VisorError.ts';
import { commitSignatureProblems, firstParentCommits } from './CommitChecks.ts';
import { HEAD_STATEMENT_REF, HeadStatementError, verifyHeadStatement, type HeadStatement } from '../trust/HeadStatement.ts';
import { parsePublicKeyLine, publicKeyLine } from '../trust/SshKeys.ts';

export interface MirrorRound {
  cloned: boolean;
  before: string | undefined;
  after: string | undefined;
}

/** Where a mirror keeps the source's head statement it last checked. */
const MIRRORED_STATEMENT = 'refs/visor/origin-head';

/**
 * One round of mirroring: clone the catalogue if the folder has none, otherwise fetch and
 * fast-forward. A mirror never has changes of its own, so anything but a fast-forward is an error
 * (someone edited the mirror, or the source rewrote history or went back to an older head). With
 * the source instance's key pinned (`headKey`), what it offers must also come with its signed,
 * unexpired head statement, whose head the branch contains (src/trust/HeadStatement.ts): a frozen
 * or stale source is refused and the mirror stays where it is (a first clone leaves nothing).
 */
export interface MirrorOptions {
  /** The source instance's public key line: every update needs its signed, unexpired head statement. */
  headKey?: string;
  /** With headKey: every commit the update brings on the first-parent line must be SSH-signed by it or one of commitKeys. */
  signedCommits?: boolean;
  commitKeys?: string[];
}

export async function mirrorOnce(url: string, dir: string, options: MirrorOptions = {}): Promise<MirrorRound> {
  if (options.signedCommits && options.headKey === undefined) throw invalidField('head_key', 'requires', 'the source key pinned', 'checking signed commits needs the source instance key pinned (--head-key)');
  const exists = await access(join(dir, '.git')).then(() => true, () => false);
  if (!exists) {
    await new GitRunner('.').run(['clone', '--quiet', url, dir]);
    const git = new GitRunner(dir);
    try {
      if (options.headKey !== undefined) {
        await fetchChecked(git, url, options.headKey);
        await checkCommits(git, url, undefined, options);
        await git.run(['merge', '--ff-only', '--quiet', '@{upstream}']);
      }
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return { cloned: true, before: undefined, after: await git.revParse('HEAD') };
  }
  const git = new GitRunner(dir);
  const before = await git.revParse('HEAD');
  if (options.headKey === undefined) await git.run(['fetch', '--quiet', 'origin']);
  else await fetchChecked(git, url, options.headKey);
  await checkCommits(git, url, before, options);
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

/**
 * Fetches the source's head statement, then its branches (so the branch is at least as new as the
 * statement), and checks the statement (checkHeadStatement). Throws a conflict naming what is wrong;
 * the mirror's own branch is untouched.
 */
async function fetchChecked(git: GitRunner, url: string, headKey: string): Promise<void> {
  try {
    await git.run(['fetch', '--quiet', 'origin', `+${HEAD_STATEMENT_REF}:${MIRRORED_STATEMENT}`]);
  } catch {
    throw conflict(`mirror of ${url}: the source publishes no signed head statement (${HEAD_STATEMENT_REF}); the mirror stays where it is`);
  }
  await git.run(['fetch', '--quiet', 'origin']);
  await checkHeadStatement(git, `mirror of ${url}`, headKey, MIRRORED_STATEMENT, (await git.revParse('@{upstream}'))!, '; the mirror stays where it is');
}

/**
 * With signed commits asked for: the commits the update brings, each signed by a pinned key (the
 * same check a follower makes, src/sync/CommitChecks.ts). The keys also go into the clone's
 * allowed-signers file (gpg.ssh.allowedSignersFile), so `git verify-commit` and `git log
 * --show-signature` check its history there too.
 */
async function checkCommits(git: GitRunner, url: string, before: string | undefined, options: MirrorOptions): Promise<void> {
  if (!options.signedCommits || options.headKey === undefined) return;
  const lines = [options.headKey, ...(options.commitKeys ?? [])];
  const keys = lines.map((line, i) => parsePublicKeyLine(line, i === 0 ? 'head_key' : `commit_keys[${i - 1}]`));
  const offered = (await git.revParse('@{upstream}'))!;
  if (offered === before) return;
  const problems = await commitSignatureProblems(git.dir, await firstParentCommits(git, offered, before), keys, `mirror of ${url}`);
  if (problems.length > 0) throw conflict(`${problems.slice(0, 5).map((p) => `${p.message} (rule ${p.rule})`).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}; the mirror stays where it is`);
  const allowed = join(gitDirOf(git.dir) ?? join(git.dir, '.git'), 'visor', 'allowed_signers');
  await mkdir(dirname(allowed), { recursive: true });
  await writeFile(allowed, keys.map((k) => `visor-mirror-source namespaces="git" ${publicKeyLine(k)}\n`).join(''));
  await git.run(['config', 'gpg.ssh.allowedSignersFile', allowed]);
}

/**
 * A clone's head statement under `ref`: signed by the pinned key, unexpired, for the clone's branch,
 * and contained in `at`. Throws a conflict starting with `what` and naming the failed rule.
 */
export async function checkHeadStatement(git: GitRunner, what: string, headKey: string, ref: string, at: string, after = ''): Promise<HeadStatement> {
  const refuse = (message: string) => conflict(`${what}: ${message}${after}`);
  const [type, size] = (await git.run(['cat-file', '--batch-check=%(objecttype) %(objectsize)'], { input: `${ref}\n` })).stdout.trim().split(' ');
  if (type !== 'blob' || Number(size) > 8192) throw refuse(`its ${ref} is not a head statement`);
  const branch = (await git.run(['symbolic-ref', '--short', 'HEAD'])).stdout.trim();
  let statement: HeadStatement;
  try {
    statement = verifyHeadStatement((await git.run(['cat-file', 'blob', ref])).stdout, parsePublicKeyLine(headKey, 'head_key'), { branch, now: new Date() });
  } catch (error) {
    if (error instanceof HeadStatementError) throw refuse(`${error.message} (rule ${error.rule})`);
    throw error;
  }
  const contained = statement.head === at || (await git.run(['merge-base', '--is-ancestor', statement.head, at]).then(() => true, () => false));
  if (!contained) throw refuse(`its branch is at ${at.slice(0, 12)}, which does not contain ${statement.head.slice(0, 12)}, the head signed at ${statement.issued_at} (rule head-behind): a stale or forked copy`);
  return statement;
}

/** Where a clone keeps the head statement to check: the one `visor mirror --head-key` fetched, else the instance's own. */
export async function headStatementRefOf(git: GitRunner): Promise<string | undefined> {
  for (const ref of [MIRRORED_STATEMENT, HEAD_STATEMENT_REF]) if ((await git.revParse(ref)) !== undefined) return ref;
  return undefined;
}

import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliSession } from '../CliSession.ts';
import { CliError } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';
import { assertImageId, CATALOG_CONFIG_FILE, ENDORSEMENTS_DIR, IMAGES_DIR, ROOT_FILE, TRUST_SIGNATURES_FILE } from '../../catalog/CatalogLayout.ts';
import { trustFilesAlong } from '../../catalog/TrustFileHistory.ts';
import { GitObjectReader } from '../../git/GitObjectReader.ts';
import { describeRoot, readPinnedRoot, rootChainProblems } from '../../trust/PinnedRoot.ts';
import { parseRootFile } from '../../trust/TrustRoots.ts';
import type { ImageRecord } from '../../api/ImageRecord.ts';
import { judgeCatalog, recordInClone, recordPathTaken, regularFileText, type CatalogJudgement, type RuleGroup } from '../../trust/CatalogVerification.ts';
import { CatalogTrustSource } from '../../trust/CatalogEndorsements.ts';
import { expiryWarnings, trustOf, type ImageTrust } from '../../trust/ImageTrust.ts';
import { judgeTrust } from '../../trust/TrustPolicy.ts';
import { trustPolicyFile } from '../trustPolicyFile.ts';
import { endorsementLines, trustLines } from '../output/endorsementLines.ts';
import { GitRunner } from '../../git/GitRunner.ts';
import { checkHeadStatement, headStatementRefOf } from '../../sync/CatalogMirror.ts';
import { HEAD_STATEMENT_REF } from '../../trust/HeadStatement.ts';
import { parsePublicKeyLine } from '../../trust/SshKeys.ts';
import { standaloneTrustProblems } from '../../trust/TrustRootChecks.ts';
import { commitSignatureProblems, firstParentCommits } from '../../sync/CommitChecks.ts';

/**
 * The clone's head statement against the pinned key (a frozen or stale clone fails the verification),
 * and what is judged must be what that key vouches for: commits on the branch after the signed head
 * signed by the same key, and no uncommitted change to records, statements or trust files.
 */
async function checkCloneHead(dir: string, headKey: string, session: CliSession): Promise<void> {
  const git = new GitRunner(dir);
  const ref = await headStatementRefOf(git);
  if (ref === undefined) throw new CliError(`the catalogue at ${dir} holds no signed head statement (${HEAD_STATEMENT_REF}; a mirror made with visor mirror --head-key keeps one)`, ExitCode.failure);
  const head = (await git.revParse('HEAD'))!;
  try {
    const statement = await checkHeadStatement(git, `catalogue at ${dir}`, headKey, ref, head);
    session.output.note(`head ${statement.head.slice(0, 12)} signed by ${statement.instance} at ${statement.issued_at}, valid until ${statement.expires_at}`);
    const after = statement.head === head ? [] : await firstParentCommits(git, head, statement.head);
    const unsigned = await commitSignatureProblems(dir, after, [parsePublicKeyLine(headKey, 'head_key')], `catalogue at ${dir}`);
    if (unsigned.length > 0) throw new Error(`${unsigned.slice(0, 3).map((p) => `${p.message} (rule ${p.rule})`).join('; ')}: a commit after the signed head must be signed by the same key`);
    const changed = (await git.run(['status', '--porcelain', '--untracked-files=all', '--', 'trust', ENDORSEMENTS_DIR, IMAGES_DIR])).stdout.trim();
    if (changed !== '') throw new Error(`catalogue at ${dir} has uncommitted changes to what is judged (rule uncommitted): ${changed.split('\n').slice(0, 3).join(', ')}; the signed head vouches for committed files only`);
  } catch (error) {
    throw new CliError((error as Error).message, ExitCode.failure);
  }
}

/** The clone's endorser list counts only when its trust roots signed it (the rule the hooks apply), whoever edited the clone. */
async function checkCloneTrustFiles(dir: string): Promise<void> {
  const problems = await standaloneTrustProblems(async (path) => regularFileText(join(dir, path)));
  if (problems.length > 0) throw new CliError(`the catalogue at ${dir} has trust files its roots do not vouch for, so none of its endorsements is trusted: ${problems.map((p) => `${p.message} (rule ${p.rule})`).join('; ')}`, ExitCode.failure);
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function groupLine(g: RuleGroup): string {
  const how = g.rule === g.status ? g.rule : `${g.rule} (${g.status})`;
  return `  ${how}, ${g.treatment}: ${plural(g.images, 'image')}: ${g.first.join(', ')}${g.images > g.first.length ? ', …' : ''}\n    e.g. ${g.example}`;
}

function catalogLines(dir: string, j: CatalogJudgement): string {
  const lines = [`catalogue at ${dir}: ${j.images_met} of ${plural(j.images, 'image')} meet the policy (${plural(j.statements, 'statement')} checked)`];
  if (j.failures.length > 0) lines.push('not met, by rule (an image failing several counts under each):', ...j.failures.map(groupLine));
  if (j.warnings.length > 0) lines.push('warnings, by rule:', ...j.warnings.map(groupLine));
  return lines.join('\n');
}

/**
 * With --trust-root: the clone's roots must be the pinned ones or descend from them by rotations
 * along its history (the rule a follower applies to a pinned upstream), else whoever edited the
 * clone could have put in roots of their own, and an endorser list they signed.
 */
async function checkClonePin(dir: string, file: string): Promise<void> {
  const pin = readPinnedRoot(resolve(file), '--trust-root');
  const text = async (path: string) => regularFileText(join(dir, path));
  const rootText = await text(ROOT_FILE);
  const offered = rootText === undefined ? undefined : parseRootFile(rootText).root;
  if (!offered) throw new CliError(`the catalogue at ${dir} has no valid ${ROOT_FILE}, so it cannot descend from the pinned root ${describeRoot(pin.root)} (rule trust-root-pin)`, ExitCode.failure);
  const git = new GitRunner(dir);
  const reader = new GitObjectReader(dir);
  try {
    const head = await git.revParse('HEAD');
    const history = head === undefined ? [] : await trustFilesAlong(git, reader, undefined, head);
    const problems = await rootChainProblems(pin.root, offered, await text(TRUST_SIGNATURES_FILE), history);
    if (problems.length > 0) throw new CliError(`the catalogue at ${dir} has roots ${describeRoot(offered)}, which do not descend from the pinned root ${describeRoot(pin.root)} (rule trust-root-pin): ${problems.map((p) => `${p.message} [${p.rule}]`).join('; ')}`, ExitCode.failure);
  } finally {
    reader.close();
  }
}

/**
 * The clone's head (with --head-key), roots (with --trust-root) and trust files, checked alike
 * whether one image or the whole clone is judged: what is judged must be what the pinned key and
 * roots vouch for.
 */
async function checkClone(catalog: string, options: { headKey?: string; trustRoot?: string }, session: CliSession): Promise<string> {
  const dir = resolve(catalog);
  if (options.headKey !== undefined) await checkCloneHead(dir, options.headKey, session);
  if (options.trustRoot !== undefined) await checkClonePin(dir, options.trustRoot);
  await checkCloneTrustFiles(dir);
  return dir;
}

/**
 * `visor verify`: whether an image meets a policy: its endorsements, revocations standing against it
 * or its bases, deprecations, deny and allow lists. Offline against a catalogue clone (`--catalog
 * DIR`: signatures checked here, nobody else trusted), or as a daemon judges them. Without an id,
 * every image of the clone, summarised by rule.
 */
export function registerVerifyCommand(program: Command, session: CliSession): void {
  program
    .command('verify')
    .description("check an image's endorsements, and its bases', against a policy (default: one valid endorsement, nothing revoked); exit 0 only when it is met, else name each rule that failed; warn of endorsements expiring soon and of deprecations. Without an id, --catalog DIR judges every image of the clone: exit 0 only when every one meets the policy (so a clone with unendorsed images fails a policy that requires endorsements), else a count of the images failing each rule with the first few ids")
    .argument('[id]', 'image id (omit it, with --catalog, to judge every image of the clone)')
    .option('--policy <file>', 'policy JSON: threshold, endorsers, required_endorsers, required_claims, deny_endorsers, allow_/deny_images, allow_/deny_digests, treatment, expiry_warning_days')
    .option('--catalog <dir>', 'judge offline from a catalogue clone instead of asking the daemon')
    .option('--head-key <line>', "with --catalog: the catalogue's instance key (ssh-ed25519 public key line); the clone's signed head statement must then verify with it, be unexpired, and be contained in the clone's branch")
    .option('--trust-root <file>', "with --catalog: a copy of the catalogue's trust/root.json, obtained out of band (TUF's shipped root); the clone's roots must then be these or descend from them by valid rotations")
    .action(async (id: string | undefined, options: { policy?: string; catalog?: string; headKey?: string; trustRoot?: string }) => {
      if (id === undefined && options.catalog === undefined) throw new CliError('give an image id, or --catalog DIR to judge every image of a clone', ExitCode.usage);
      if (id !== undefined) assertImageId(id);
      const policy = await trustPolicyFile(options.policy);
      if ((options.headKey !== undefined || options.trustRoot !== undefined) && options.catalog === undefined) throw new CliError(`${options.headKey !== undefined ? '--head-key' : '--trust-root'} checks a clone: give --catalog DIR too`, ExitCode.usage);
      if (id === undefined) {
        // An empty or mistyped folder holds no image, which would pass vacuously.
        if (!existsSync(join(resolve(options.catalog!), IMAGES_DIR)) && !existsSync(join(resolve(options.catalog!), CATALOG_CONFIG_FILE))) throw new CliError(`no catalogue at ${resolve(options.catalog!)} (no ${IMAGES_DIR}/ nor ${CATALOG_CONFIG_FILE})`, ExitCode.notFound);
        const dir = await checkClone(options.catalog!, options, session);
        const judgement = judgeCatalog(dir, policy);
        session.output.result(judgement, () => catalogLines(dir, judgement));
        if (!judgement.met) throw new CliError(`${judgement.images_failed} of ${plural(judgement.images, 'image')} ${judgement.images_failed === 1 ? 'does' : 'do'} not meet the policy (rules ${[...new Set(judgement.failures.map((f) => f.rule))].join(', ')})`, ExitCode.failure);
        return;
      }
      let trust: ImageTrust;
      if (options.catalog !== undefined) {
        const dir = await checkClone(options.catalog, options, session);
        const record = recordInClone(dir, id);
        if (record === undefined && !recordPathTaken(dir, id)) throw new CliError(`image ${id} is not in the catalogue at ${dir}`, ExitCode.notFound);
        trust = trustOf(record ?? ({ id, status: 'error' } as ImageRecord), new CatalogTrustSource([dir], dir, (rid) => recordInClone(dir, rid)), { warningDays: policy.expiry_warning_days });
      } else {
        const answer = await (await session.visor()).trust(id);
        // The warning window is this policy's, not the daemon's.
        trust = { ...answer, warnings: expiryWarnings(id, answer.endorsements, new Date(), policy.expiry_warning_days) };
      }
      const verdict = judgeTrust(trust, policy);
      const met = verdict.treatment === 'downloadable';
      for (const w of verdict.warnings) session.output.note(`warning: ${w}`);
      session.output.result({ met, ...verdict, endorsements: trust.endorsements, ancestry: trust.ancestry, flags: trust.flags, ...(trust.deprecation ? { deprecation: trust.deprecation } : {}) }, () =>
        [...endorsementLines(trust.endorsements), ...trustLines(trust), met ? `image ${id}: policy met (${verdict.counted.length > 0 ? verdict.counted.join(', ') : 'nothing required'})` : ''].filter((l) => l !== '').join('\n'),
      );
      if (!met) throw new CliError(verdict.failures.map((f) => f.message).join('\n'), ExitCode.failure);
    });
}

import type { FileProblem } from '../catalog/CatalogScanner.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { ENDORSERS_FILE, statementFromPath } from '../catalog/CatalogLayout.ts';
import { EndorserList } from './EndorserList.ts';
import { factsMismatch } from './EndorsementStatement.ts';
import { readStatementFile } from './StatementFile.ts';
import { trustRootProblems, type TrustTexts } from './TrustRootChecks.ts';

/** How far ahead of the checker's clock a statement may be dated (clocks differ a little). */
const CLOCK_SKEW_MS = 10 * 60_000;
const READ_AHEAD = 256;

export interface StatementChanges {
  added: readonly string[];
  modified: readonly string[];
  deleted: readonly string[];
}

/** The version being checked (text), and for the trust roots' rules the one it is checked against (baseText, rootHistory). */
export interface StatementTree extends TrustTexts {
  record(id: string): Promise<ImageRecord | undefined>;
}

/**
 * The rules for signed statements in a change (hooks, CI, syncs), on top of each file's own shape
 * and signature (src/trust/StatementFile.ts):
 * - a new statement's key is in the endorser list as it will be, under the identity it claims;
 * - a new endorsement's facts are those of the image's record in the same version (so an
 *   endorsement cannot name an image the catalogue does not hold, a private one included), and it is
 *   not dated in the future;
 * - statements are never changed or deleted (a revocation deleted would revive what it revoked;
 *   history keeps every statement anyway), unless their image's record goes too;
 * - the endorser list is well-formed;
 * - where the catalogue has trust roots, the endorser list and the roots themselves change only
 *   with a threshold of the roots' signatures (src/trust/TrustRootChecks.ts).
 * Expiry is no reason to refuse: an endorsement that has expired was still made.
 */
export async function statementChangeProblems(changes: StatementChanges, tree: StatementTree, now: Date = new Date()): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  const touched = (path: string) => path === ENDORSERS_FILE || path.startsWith('endorsements/') || path.startsWith('trust/');
  if (![...changes.added, ...changes.modified, ...changes.deleted].some(touched)) return problems;
  const endorsers = EndorserList.parse(await tree.text(ENDORSERS_FILE));
  if ([...changes.added, ...changes.modified].includes(ENDORSERS_FILE)) problems.push(...endorsers.problems);
  const bad = (file: string, field: string, rule: string, expected: string, message: string) => problems.push({ file, field, rule, expected, message });

  const added = changes.added.filter((path) => path.startsWith('endorsements/'));
  // Read ahead a batch at a time: each read is a round trip to git, and thousands of them one after
  // the other left the checker idle most of the time (a batch keeps memory bounded).
  for (let from = 0; from < added.length; from += READ_AHEAD) {
    const batch = added.slice(from, from + READ_AHEAD);
    const texts = await Promise.all(batch.map((path) => tree.text(path)));
    const records = await Promise.all(batch.map((path) => {
      const id = statementFromPath(path)?.id;
      return id === undefined ? undefined : tree.record(id);
    }));
    batch.forEach((path, i) => checkAdded(path, texts[i] ?? '', records[i]));
  }
  return [...problems, ...(await trustRootProblems(changes, tree)), ...(await changedOrDeleted(changes, tree))];

  function checkAdded(path: string, text: string, record: ImageRecord | undefined): void {
    const read = readStatementFile(path, text);
    problems.push(...read.problems);
    const s = read.file?.statement;
    if (!s || read.problems.length > 0) return;
    if (read.signatureError !== undefined) {
      bad(path, 'signature', 'signature', `an sshsig signature by ${s.endorser.key} over the statement's canonical bytes`, read.signatureError);
      return;
    }
    const listed = endorsers.key(s.endorser.key);
    if (!listed || listed.identity !== s.endorser.identity) {
      bad(path, 'statement.endorser', 'endorser-listed', `a key ${ENDORSERS_FILE} lists for ${s.endorser.identity}`, listed ? `key ${s.endorser.key} is listed for ${listed.identity}, not ${s.endorser.identity}` : `key ${s.endorser.key} of ${s.endorser.identity} is not in ${ENDORSERS_FILE}: add it there first (a reviewed change)`);
    }
    if (Date.parse(s.issued_at) > now.getTime() + CLOCK_SKEW_MS) bad(path, 'statement.issued_at', 'not-future', 'a time not in the future', `${s.issued_at} is in the future`);
    if (s.kind === 'endorsement') {
      // The record of the image the path names, which a well-placed statement's own image is.
      const differ = factsMismatch(s.image, record);
      if (differ.length > 0) bad(path, 'statement.image', 'facts-match', `the facts of image ${s.image.id} as its record holds them`, `endorsement of image ${s.image.id} by ${s.endorser.identity} does not match the image: ${differ.join('; ')}`);
    }
  }
}

/** Statements changed or deleted: never, while their image stays. */
async function changedOrDeleted(changes: StatementChanges, tree: StatementTree): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  const bad = (file: string, field: string, rule: string, expected: string, message: string) => problems.push({ file, field, rule, expected, message });
  for (const path of changes.modified) {
    if (statementFromPath(path)) bad(path, '(file)', 'append-only', 'a statement left as it was signed', 'a signed statement never changes: sign a new one (a revocation withdraws an endorsement)');
  }
  for (const path of changes.deleted) {
    const placed = statementFromPath(path);
    if (placed && (await tree.record(placed.id)) !== undefined) {
      bad(path, '(file)', 'append-only', 'statements kept while their image is', `a signed statement about image ${placed.id} cannot be deleted while the image is in the catalogue${placed.kind === 'revocation' ? ' (it would revive what it revoked)' : ': revoke it instead'}`);
    }
  }
  return problems;
}

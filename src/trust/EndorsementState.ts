import type { ImageRecord } from '../api/ImageRecord.ts';
import type { EndorserList } from './EndorserList.ts';
import { factsMismatch, type EndorsementStatement, type RevocationStatement } from './EndorsementStatement.ts';
import { readStatementFile } from './StatementFile.ts';

/**
 * What an endorsement is worth now, computed every time from the files, the endorser list and the
 * image's record (never stored: a key removed from the list or an expiry passing changes it):
 * - `signature_bad`: the file is malformed, or its signature does not check out against the key it names;
 * - `key_unknown`: the key is not in the catalogue's endorser list, or is listed for another identity;
 * - `facts_mismatch`: the image's checksum, size, virtual size or format are not what was endorsed;
 * - `revoked`: a valid revocation by the same identity, issued at or after it;
 * - `expired`: past expires_at;
 * - `valid`: none of these.
 * The first that applies wins, in this order.
 */
export const ENDORSEMENT_STATES = ['valid', 'expired', 'revoked', 'key_unknown', 'signature_bad', 'facts_mismatch'] as const;
export type EndorsementStateName = (typeof ENDORSEMENT_STATES)[number];

/** Expiry within this many days is warned of (in `visor verify`, the API and `visor show`) unless a policy says otherwise (expiry_warning_days). */
export const EXPIRY_WARNING_DAYS = 30;

export interface EndorsementView {
  /** The file's path in the catalogue. */
  file: string;
  state: EndorsementStateName;
  /** Why it is not valid, in words naming the image, the endorser and the rule. */
  reason?: string;
  identity?: string;
  key?: string;
  claims?: string[];
  issued_at?: string;
  expires_at?: string;
  /** Set when valid and expiring within the warning window (EXPIRY_WARNING_DAYS unless a policy says otherwise). */
  expires_soon?: boolean;
  revocation?: { file: string; reason: string; issued_at: string };
}

export interface StatementText {
  path: string;
  text: string;
}

interface Checked<S> {
  path: string;
  statement?: S;
  problem?: string;
}

/** Whether a statement's signature and key are good: answers the problem, or undefined. */
function signerProblem(statement: EndorsementStatement | RevocationStatement, signatureError: string | undefined, endorsers: Pick<EndorserList, 'key'>): { state: EndorsementStateName; reason: string } | undefined {
  if (signatureError !== undefined) return { state: 'signature_bad', reason: `the signature is bad: ${signatureError}` };
  const listed = endorsers.key(statement.endorser.key);
  if (!listed) return { state: 'key_unknown', reason: "the key is not in the catalogue's endorser list (trust/endorsers.json)" };
  if (listed.identity !== statement.endorser.identity) return { state: 'key_unknown', reason: `the key is listed for ${listed.identity}, not ${statement.endorser.identity}` };
  return undefined;
}

/** The states of every endorsement of one image, from its statement files (endorsements and revocations alike). */
export function assessEndorsements(id: string, files: readonly StatementText[], record: ImageRecord | undefined, endorsers: Pick<EndorserList, 'key'>, now: Date = new Date(), warningDays: number = EXPIRY_WARNING_DAYS): EndorsementView[] {
  const endorsements: Array<Checked<EndorsementStatement> & { signatureError?: string }> = [];
  const revocations: Array<{ path: string; statement: RevocationStatement }> = [];
  for (const f of files) {
    const read = readStatementFile(f.path, f.text);
    const statement = read.file?.statement;
    if (!statement || read.problems.length > 0 || statement.image.id !== id) {
      // A malformed file is no statement: shown as bad, so nobody takes its absence for nothing.
      if (!f.path.includes('/revocation-')) endorsements.push({ path: f.path, problem: (read.problems[0]?.message ?? `names image ${statement?.image.id}`).slice(0, 300) });
      continue;
    }
    if (statement.kind === 'revocation') {
      if (!signerProblem(statement, read.signatureError, endorsers)) revocations.push({ path: f.path, statement });
    } else endorsements.push({ path: f.path, statement, ...(read.signatureError === undefined ? {} : { signatureError: read.signatureError }) });
  }
  const views = endorsements.map((e): EndorsementView => {
    const s = e.statement;
    if (!s) return { file: e.path, state: 'signature_bad', reason: `not a readable endorsement of image ${id}: ${e.problem}` };
    const base = { file: e.path, identity: s.endorser.identity, key: s.endorser.key, claims: s.claims, issued_at: s.issued_at, expires_at: s.expires_at };
    const signer = signerProblem(s, e.signatureError, endorsers);
    if (signer) return { ...base, state: signer.state, reason: `endorsement of image ${id} by ${s.endorser.identity} (key ${s.endorser.key}): ${signer.reason}` };
    const differ = factsMismatch(s.image, record);
    if (differ.length > 0) return { ...base, state: 'facts_mismatch', reason: `endorsement of image ${id} by ${s.endorser.identity}: the image's facts changed since: ${differ.join('; ')}` };
    const revocation = revocations.find((r) => r.statement.endorser.identity === s.endorser.identity && r.statement.issued_at >= s.issued_at);
    if (revocation) {
      return { ...base, state: 'revoked', reason: `endorsement of image ${id} by ${s.endorser.identity} was revoked at ${revocation.statement.issued_at}: ${revocation.statement.reason}`, revocation: { file: revocation.path, reason: revocation.statement.reason, issued_at: revocation.statement.issued_at } };
    }
    const expires = Date.parse(s.expires_at);
    if (expires <= now.getTime()) return { ...base, state: 'expired', reason: `endorsement of image ${id} by ${s.endorser.identity} expired at ${s.expires_at}` };
    const soon = expires - now.getTime() < warningDays * 86_400_000;
    return { ...base, state: 'valid', ...(soon ? { expires_soon: true } : {}) };
  });
  return views.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { statementFromPath } from '../catalog/CatalogLayout.ts';
import { checkStatementFile, statementBytes, type SignedStatementFile } from './EndorsementStatement.ts';
import { fingerprintHex } from './SshKeys.ts';
import { verifySsh } from './SshSignature.ts';

/** The largest statement file accepted: real ones are under 2 KiB; a padded one costs every clone. */
export const MAX_STATEMENT_BYTES = 16 * 1024;

export interface ReadStatement {
  /** The file, when its shape is right (its signature may still be bad). */
  file?: SignedStatementFile;
  /** Set when the signature checks out against the key it embeds, and that key is the statement's. */
  signatureError?: string;
  /** Shape and placement problems: a file with any is no statement at all. */
  problems: FileProblem[];
}

/** The file name a statement must have: where it lives follows from what it says. */
export function statementPath(file: SignedStatementFile): string {
  const s = file.statement;
  const issued = s.issued_at.replace(/[-:]/g, '');
  return `endorsements/${s.image.id.slice(0, 2)}/${s.image.id}/${s.kind}-${issued}-${fingerprintHex(s.endorser.key)}.json`;
}

/**
 * One statement file read on its own: JSON, shape, a name that agrees with its content, and a
 * signature by the key it names over its canonical bytes. Whether that key is one the catalogue
 * trusts, and whether the facts are the image's, needs the rest of the catalogue
 * (src/trust/EndorsementState.ts).
 */
export function readStatementFile(path: string, text: string): ReadStatement {
  const problems: FileProblem[] = [];
  const placed = statementFromPath(path);
  if (!placed) problems.push({ file: path, field: '(file)', rule: 'layout', expected: 'endorsements/<id[0:2]>/<id>/<endorsement|revocation>-<YYYYMMDDTHHMMSSZ>-<key fingerprint, 64 hex>.json', message: 'not where a signed statement belongs' });
  if (Buffer.byteLength(text) > MAX_STATEMENT_BYTES) {
    problems.push({ file: path, field: '(file)', rule: 'max-size', expected: `at most ${MAX_STATEMENT_BYTES} bytes`, message: `is ${Buffer.byteLength(text)} bytes` });
    return { problems };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problems.push({ file: path, field: '(file)', rule: 'json', expected: 'a JSON object', message: `is not JSON: ${(error as Error).message}` });
    return { problems };
  }
  const checked = checkStatementFile(parsed);
  for (const p of checked.problems) problems.push({ file: path, ...p });
  const file = checked.file;
  if (!file) return { problems };
  if (placed && statementPath(file) !== path) {
    problems.push({ file: path, field: '(file)', rule: 'name-matches-statement', expected: statementPath(file), message: `its name does not agree with its statement (image, kind, issued_at, key): it belongs at ${statementPath(file)}` });
  }
  let signatureError: string | undefined;
  try {
    const info = verifySsh(file.signature, statementBytes(file.statement));
    if (info.publicKey.fingerprint !== file.statement.endorser.key) signatureError = `signed by key ${info.publicKey.fingerprint}, not the ${file.statement.endorser.key} the statement names`;
  } catch (error) {
    signatureError = (error as Error).message;
  }
  return { file, problems, ...(signatureError === undefined ? {} : { signatureError }) };
}

/** A statement file's problems on its own, its signature included: what hooks, CI and syncs refuse. */
export function statementFileProblems(path: string, text: string): FileProblem[] {
  const read = readStatementFile(path, text);
  if (read.signatureError === undefined || read.problems.length > 0) return read.problems;
  return [{ file: path, field: 'signature', rule: 'signature', expected: `an sshsig signature by ${read.file!.statement.endorser.key} over the statement's canonical bytes`, message: read.signatureError }];
}

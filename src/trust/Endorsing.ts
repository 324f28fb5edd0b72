import type { ImageRecord } from '../api/ImageRecord.ts';
import { invalidField } from '../errors/VisorError.ts';
import { assertImageId } from '../catalog/CatalogLayout.ts';
import { factsOf, isQualifiedIdentity, statementBytes, statementTime, type EndorsementStatement, type RevocationStatement, type SignedStatementFile, type Statement } from './EndorsementStatement.ts';
import type { SshPrivateKey } from './SshKeys.ts';
import { signSsh } from './SshSignature.ts';

/** An endorsement lasts a year unless told otherwise: everything signed expires (TUF), so a forgotten one lapses. */
export const DEFAULT_VALIDITY_DAYS = 365;

function signed<S extends Statement>(statement: S, key: SshPrivateKey): SignedStatementFile & { statement: S } {
  return { statement, signature: signSsh(key, statementBytes(statement)) };
}

function assertIdentity(identity: string): void {
  if (!isQualifiedIdentity(identity)) throw invalidField('as', 'pattern', 'name@instance', `endorser identity ${JSON.stringify(identity)} is not name@instance`);
}

/** Signs an endorsement of the record's facts as they are now. */
export function endorse(record: ImageRecord, key: SshPrivateKey, identity: string, options: { claims?: readonly string[]; expiresAt?: Date; now?: Date } = {}): SignedStatementFile & { statement: EndorsementStatement } {
  assertIdentity(identity);
  // The id becomes a path: a record file naming something else (a hostile clone's) is refused here.
  assertImageId(record.id);
  const facts = factsOf(record);
  if (typeof facts === 'string') throw invalidField('id', 'available', 'an available image with a checksum and size', facts);
  const now = options.now ?? new Date();
  const expires = options.expiresAt ?? new Date(now.getTime() + DEFAULT_VALIDITY_DAYS * 86_400_000);
  if (!(expires.getTime() > now.getTime() + 1000)) throw invalidField('expires', 'future', 'a time after now', `--expires ${expires.toISOString()} is not in the future`);
  const claims = [...new Set(options.claims ?? [])];
  const statement: EndorsementStatement = { kind: 'endorsement', version: 1, image: facts, claims, issued_at: statementTime(now), expires_at: statementTime(expires), endorser: { identity, key: key.publicKey.fingerprint } };
  return signed(statement, key);
}

/** Signs the withdrawal of every endorsement of the image this identity made up to now. */
export function revoke(id: string, key: SshPrivateKey, identity: string, reason: string, now: Date = new Date()): SignedStatementFile & { statement: RevocationStatement } {
  assertIdentity(identity);
  assertImageId(id);
  const statement: RevocationStatement = { kind: 'revocation', version: 1, image: { id }, reason, issued_at: statementTime(now), endorser: { identity, key: key.publicKey.fingerprint } };
  return signed(statement, key);
}

/** The file as written: indented for review (the signature covers the canonical bytes, not these). */
export function serializeStatementFile(file: SignedStatementFile): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

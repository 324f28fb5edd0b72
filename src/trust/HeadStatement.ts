import { canonicalBytes } from './CanonicalJson.ts';
import type { SshPrivateKey, SshPublicKey } from './SshKeys.ts';
import { signSsh, verifySsh } from './SshSignature.ts';

/**
 * An instance's signed, expiring statement of its catalogue's current head: TUF's timestamp role
 * over a Git catalogue. The instance re-signs it on a schedule even when nothing changes, so a
 * follower or mirror that keeps being offered the same statement past its expiry knows the upstream
 * (or whatever stands between them: a mirror, a cache, an attacker) stopped moving: a freeze. And
 * the branch it is offered must contain the head the statement names, so a stale copy of the
 * catalogue served beside a fresh statement is refused too.
 *
 * Signed like endorsements (sshsig, Ed25519, canonical JSON) but in its own namespace, so a head
 * statement can never pass for an endorsement or a git commit signature, nor they for one.
 */
export const HEAD_NAMESPACE = 'visor-catalog-head';

/** The ref a catalogue's signed head statement is published under, beside its branch (a blob). */
export const HEAD_STATEMENT_REF = 'refs/visor/head';

export interface HeadStatement {
  kind: 'catalog-head';
  version: 1;
  /** The instance that signs (its instance_name). */
  instance: string;
  branch: string;
  /** The commit the branch was at when signed. */
  head: string;
  issued_at: string;
  expires_at: string;
}

export interface SignedHeadStatement {
  statement: HeadStatement;
  signature: string;
}

/** Why a head statement is not to be trusted: each is a refusal of the sync or mirror offered with it. */
export type HeadStatementRule = 'head-statement' | 'head-signature' | 'head-expired' | 'head-behind';

export class HeadStatementError extends Error {
  readonly rule: HeadStatementRule;
  constructor(rule: HeadStatementRule, message: string) {
    super(message);
    this.rule = rule;
  }
}

/** The largest statement read: a real one is under 1 KiB. */
const MAX_BYTES = 8 * 1024;
const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

const isoSeconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

export function signHeadStatement(key: SshPrivateKey, fields: { instance: string; branch: string; head: string; now: Date; validitySeconds: number }): SignedHeadStatement {
  const statement: HeadStatement = {
    kind: 'catalog-head',
    version: 1,
    instance: fields.instance,
    branch: fields.branch,
    head: fields.head,
    issued_at: isoSeconds(fields.now),
    expires_at: isoSeconds(new Date(fields.now.getTime() + fields.validitySeconds * 1000)),
  };
  return { statement, signature: signSsh(key, canonicalBytes(statement), HEAD_NAMESPACE) };
}

export function serializeHeadStatement(file: SignedHeadStatement): string {
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** The shape of a statement file, or a refusal saying what is wrong with it. */
function parse(text: string): SignedHeadStatement {
  const fail = (message: string) => new HeadStatementError('head-statement', `the head statement ${message}`);
  if (Buffer.byteLength(text) > MAX_BYTES) throw fail(`is larger than ${MAX_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw fail(`is not JSON: ${(error as Error).message}`);
  }
  const file = value as Partial<SignedHeadStatement> | null;
  const s = file?.statement as Partial<HeadStatement> | undefined;
  if (typeof file !== 'object' || file === null || typeof file.signature !== 'string' || typeof s !== 'object' || s === null) throw fail('is not {"statement": …, "signature": …}');
  const keys = Object.keys(s).sort().join(',');
  if (keys !== 'branch,expires_at,head,instance,issued_at,kind,version') throw fail(`has fields ${keys}, not kind, version, instance, branch, head, issued_at, expires_at`);
  if (s.kind !== 'catalog-head' || s.version !== 1) throw fail('is not a version 1 catalog-head statement');
  if (typeof s.instance !== 'string' || typeof s.branch !== 'string' || typeof s.head !== 'string' || !COMMIT.test(s.head)) throw fail('names no instance, branch or commit');
  if (typeof s.issued_at !== 'string' || !TIME.test(s.issued_at) || typeof s.expires_at !== 'string' || !TIME.test(s.expires_at)) throw fail('has no issued_at and expires_at in UTC (YYYY-MM-DDTHH:MM:SSZ)');
  return file as SignedHeadStatement;
}

/**
 * Reads a head statement and checks it against the key the follower pinned for its upstream (never
 * a key the statement brings), the branch, and the time: answers the statement, or
 * throws a HeadStatementError naming the rule it breaks.
 */
export function verifyHeadStatement(text: string, pinned: SshPublicKey, expect: { branch: string; now: Date }): HeadStatement {
  const file = parse(text);
  const s = file.statement;
  let signer: SshPublicKey;
  try {
    signer = verifySsh(file.signature, canonicalBytes(s), HEAD_NAMESPACE).publicKey;
  } catch (error) {
    throw new HeadStatementError('head-signature', `the head statement's signature does not verify: ${(error as Error).message}`);
  }
  if (!signer.blob.equals(pinned.blob)) throw new HeadStatementError('head-signature', `the head statement is signed by key ${signer.fingerprint}, not the pinned ${pinned.fingerprint}`);
  if (s.branch !== expect.branch) throw new HeadStatementError('head-statement', `the head statement is for branch ${s.branch}, not ${expect.branch}`);
  if (Date.parse(s.expires_at) <= expect.now.getTime()) {
    throw new HeadStatementError('head-expired', `the head statement expired at ${s.expires_at} (issued ${s.issued_at}): the upstream has stopped refreshing it, or what serves it is frozen or stale`);
  }
  return s;
}

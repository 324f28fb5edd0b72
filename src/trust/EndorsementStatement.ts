import { INSTANCE_NAME } from '../federation/InstanceIdentity.ts';
import { ID_PATTERN } from '../catalog/CatalogLayout.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { canonicalBytes } from './CanonicalJson.ts';

/**
 * What an endorser signs: a statement about one image's facts (an endorsement), or the withdrawal
 * of their endorsements of it (a revocation). The signature covers the statement's canonical bytes
 * (src/trust/CanonicalJson.ts), so a file can be re-indented but not changed.
 */
export const STATEMENT_VERSION = 1;

/** Who signed: the endorser's identity qualified by instance, and the fingerprint of the key used. */
export interface Endorser {
  /** `name@instance`: account names mean something only on their own instance. */
  identity: string;
  /** `SHA256:…`, as `ssh-keygen -l` prints it. */
  key: string;
}

/** The facts of one image that an endorsement vouches for: those that say which bytes it is. */
export interface EndorsedFacts {
  id: string;
  checksum: { algorithm: 'sha256' | 'sha512'; value: string };
  size: number;
  /** From format inspection; absent when the image was never inspected. */
  virtual_size?: number;
  format?: string;
}

export interface EndorsementStatement {
  kind: 'endorsement';
  version: 1;
  image: EndorsedFacts;
  /** `tested`, `approved`, or free text: what the endorser vouches for. */
  claims: string[];
  issued_at: string;
  expires_at: string;
  endorser: Endorser;
}

/** Withdraws every endorsement of the image that the same identity issued at or before `issued_at`. */
export interface RevocationStatement {
  kind: 'revocation';
  version: 1;
  image: { id: string };
  reason: string;
  issued_at: string;
  endorser: Endorser;
}

export type Statement = EndorsementStatement | RevocationStatement;

/** What a file in endorsements/ holds: the statement (indented for review) and its armored sshsig signature. */
export interface SignedStatementFile {
  statement: Statement;
  signature: string;
}

export const WELL_KNOWN_CLAIMS = ['tested', 'approved'] as const;
const ACCOUNT = /^[a-z][a-z0-9._-]{0,62}$/;
/** Seconds, UTC, no fraction: one spelling per instant, so the file name and the text agree. */
export const STATEMENT_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
const MAX_TEXT = 200;
const MAX_CLAIMS = 16;
/** No control characters nor lone surrogates: the text is shown in terminals and must canonicalise the same under jq. */
const PLAIN_TEXT = /^[^\p{Cc}\p{Cs}]+$/u;

export function isQualifiedIdentity(value: string): boolean {
  const at = value.lastIndexOf('@');
  return at > 0 && ACCOUNT.test(value.slice(0, at)) && INSTANCE_NAME.test(value.slice(at + 1));
}

/** A time in the statements' one spelling: `2026-12-06T10:22:46Z`. */
export function statementTime(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function parseTime(text: string): number {
  return STATEMENT_TIME.test(text) ? Date.parse(text) : Number.NaN;
}

export function statementBytes(statement: Statement): Buffer {
  return canonicalBytes(statement);
}

/** The facts of a record an endorsement would vouch for; undefined with the reason when it has none to vouch for. */
export function factsOf(record: ImageRecord): EndorsedFacts | string {
  if (record.status !== 'available' || record.checksum === undefined || record.size === undefined) return `image ${record.id} is ${record.status}: only an available image (checksum and size known) can be endorsed`;
  const [algorithm, value] = record.checksum.split(':') as [string, string];
  if (algorithm !== 'sha256' && algorithm !== 'sha512') return `image ${record.id} has checksum ${record.checksum}, not sha256 or sha512`;
  const facts: EndorsedFacts = { id: record.id, checksum: { algorithm, value }, size: record.size };
  if (record.inspection) {
    facts.virtual_size = record.inspection.virtual_size;
    facts.format = record.inspection.format;
  }
  return facts;
}

/** Which facts differ between what was endorsed and the record as it is now (empty: they match). */
export function factsMismatch(endorsed: EndorsedFacts, record: ImageRecord | undefined): string[] {
  if (!record) return ['the image is not in the catalogue'];
  const now = factsOf(record);
  if (typeof now === 'string') return [now];
  const differ: string[] = [];
  if (now.checksum.algorithm !== endorsed.checksum.algorithm || now.checksum.value !== endorsed.checksum.value) differ.push(`checksum (endorsed ${endorsed.checksum.algorithm}:${endorsed.checksum.value.slice(0, 12)}…, now ${record.checksum})`);
  if (now.size !== endorsed.size) differ.push(`size (endorsed ${endorsed.size}, now ${now.size})`);
  if (endorsed.virtual_size !== undefined && now.virtual_size !== endorsed.virtual_size) differ.push(`virtual_size (endorsed ${endorsed.virtual_size}, now ${now.virtual_size ?? 'unknown'})`);
  if (endorsed.format !== undefined && now.format !== endorsed.format) differ.push(`format (endorsed ${endorsed.format}, now ${now.format ?? 'unknown'})`);
  return differ;
}

export interface StatementProblem {
  field: string;
  rule: string;
  expected: string;
  message: string;
}

/**
 * A signed statement file's shape, field by field: exactly the fields above, no others (an unknown
 * field would be signed but never shown, so a reader could not tell what was vouched for).
 */
export function checkStatementFile(value: unknown): { file?: SignedStatementFile; problems: StatementProblem[] } {
  const problems: StatementProblem[] = [];
  const bad = (field: string, rule: string, expected: string, message: string) => {
    problems.push({ field, rule, expected, message: `${field}: ${message}` });
  };
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const onlyKeys = (where: string, v: Record<string, unknown>, allowed: readonly string[]) => {
    for (const k of Object.keys(v)) if (!allowed.includes(k)) bad(`${where}.${k}`.replace(/^\./, ''), 'additional-property', `only ${allowed.join(', ')}`, 'is not a field of a signed statement');
  };
  if (!isObject(value)) {
    bad('(file)', 'type', 'an object with statement and signature', 'is not a JSON object');
    return { problems };
  }
  onlyKeys('', value, ['statement', 'signature']);
  if (typeof value['signature'] !== 'string' || value['signature'].length > 4096) bad('signature', 'type', 'an armored SSH signature (-----BEGIN SSH SIGNATURE-----)', 'is missing or not a string of at most 4096 characters');
  const s = value['statement'];
  if (!isObject(s)) {
    bad('statement', 'type', 'an object', 'is missing or not an object');
    return { problems };
  }
  const kind = s['kind'];
  if (kind !== 'endorsement' && kind !== 'revocation') bad('statement.kind', 'enum', 'endorsement or revocation', `${JSON.stringify(kind)} is not a kind of statement`);
  if (s['version'] !== STATEMENT_VERSION) bad('statement.version', 'const', String(STATEMENT_VERSION), `${JSON.stringify(s['version'])} is not a version this VISOR reads`);
  const time = (field: string, v: unknown) => {
    if (typeof v !== 'string' || Number.isNaN(parseTime(v))) bad(`statement.${field}`, 'date-time', 'UTC to the second, like 2026-12-06T10:22:46Z', `${JSON.stringify(v)} is not such a time`);
  };
  const text = (field: string, v: unknown) => {
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT || !PLAIN_TEXT.test(v)) bad(field, 'text', `1 to ${MAX_TEXT} characters, no control characters`, `${JSON.stringify(typeof v === 'string' ? v.slice(0, 40) : v)} is not 1 to ${MAX_TEXT} characters with no control characters`);
  };
  time('issued_at', s['issued_at']);
  const endorser = s['endorser'];
  if (!isObject(endorser)) bad('statement.endorser', 'type', 'an object with identity and key', 'is missing');
  else {
    onlyKeys('statement.endorser', endorser, ['identity', 'key']);
    if (typeof endorser['identity'] !== 'string' || !isQualifiedIdentity(endorser['identity'])) bad('statement.endorser.identity', 'pattern', 'name@instance', `${JSON.stringify(endorser['identity'])} is not a qualified identity`);
    if (typeof endorser['key'] !== 'string' || !FINGERPRINT.test(endorser['key'])) bad('statement.endorser.key', 'pattern', 'SHA256:<43 base64 characters>', `${JSON.stringify(endorser['key'])} is not a key fingerprint`);
  }
  const image = s['image'];
  if (!isObject(image)) bad('statement.image', 'type', 'an object', 'is missing');
  else if (typeof image['id'] !== 'string' || !ID_PATTERN.test(image['id'])) bad('statement.image.id', 'pattern', 'an image id (a lowercase UUID)', `${JSON.stringify(image['id'])} is not an image id`);
  if (kind === 'endorsement') {
    onlyKeys('statement', s, ['kind', 'version', 'image', 'claims', 'issued_at', 'expires_at', 'endorser']);
    time('expires_at', s['expires_at']);
    if (typeof s['issued_at'] === 'string' && typeof s['expires_at'] === 'string' && !(parseTime(s['expires_at']) > parseTime(s['issued_at']))) bad('statement.expires_at', 'after-issued', `a time after issued_at (${s['issued_at']})`, `${s['expires_at']} is not after the issue time`);
    if (isObject(image)) {
      onlyKeys('statement.image', image, ['id', 'checksum', 'size', 'virtual_size', 'format']);
      const c = image['checksum'];
      if (!isObject(c) || (c['algorithm'] !== 'sha256' && c['algorithm'] !== 'sha512') || typeof c['value'] !== 'string' || !new RegExp(`^[0-9a-f]{${c['algorithm'] === 'sha512' ? 128 : 64}}$`).test(c['value']) || Object.keys(c).length !== 2) {
        bad('statement.image.checksum', 'checksum', '{"algorithm": "sha256" or "sha512", "value": lowercase hex}', 'is not a checksum');
      }
      for (const f of ['size', 'virtual_size'] as const) {
        const v = image[f];
        if ((f === 'size' || v !== undefined) && !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0)) bad(`statement.image.${f}`, 'integer', 'a non-negative integer (bytes)', `${JSON.stringify(v)} is not a size`);
      }
      if (image['format'] !== undefined && (typeof image['format'] !== 'string' || !/^[a-z0-9-]{1,32}$/.test(image['format']))) bad('statement.image.format', 'pattern', 'a format name such as qcow2', `${JSON.stringify(image['format'])} is not a format name`);
    }
    const claims = s['claims'];
    if (!Array.isArray(claims) || claims.length > MAX_CLAIMS) bad('statement.claims', 'type', `a list of at most ${MAX_CLAIMS} claims`, 'is not such a list');
    else {
      claims.forEach((c, i) => text(`statement.claims[${i}]`, c));
      if (new Set(claims).size !== claims.length) bad('statement.claims', 'unique', 'each claim once', 'names a claim twice');
    }
  } else if (kind === 'revocation') {
    onlyKeys('statement', s, ['kind', 'version', 'image', 'reason', 'issued_at', 'endorser']);
    if (isObject(image)) onlyKeys('statement.image', image, ['id']);
    text('statement.reason', s['reason']);
  }
  if (problems.length > 0) return { problems };
  return { file: value as unknown as SignedStatementFile, problems };
}

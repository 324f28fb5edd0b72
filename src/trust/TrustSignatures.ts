import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { TRUST_SIGNATURES_FILE } from '../catalog/CatalogLayout.ts';
import { canonicalBytes } from './CanonicalJson.ts';
import { verifySsh } from './SshSignature.ts';
import { MAX_TRUST_FILE_BYTES, type TrustRoot } from './TrustRoots.ts';

/**
 * The roots' signatures (trust/signatures.json), one entry per signed file:
 *
 *   { "root.json": { "signatures": [ { "key": "SHA256:…", "signature": "-----BEGIN SSH SIGNATURE-----…" } ] },
 *     "endorsers.json": { "version": 3, "signatures": [ … ] } }
 *
 * A signature covers canonicalBytes({"file", "version", "content"}) (trustMessage) in its own sshsig
 * namespace, so it is never valid as an endorsement, a head statement or a git commit, nor the other
 * way round. root.json's version is its own field; the endorser list's is the entry's, and grows
 * with every change, so an older signed list cannot be put back.
 */
export const TRUST_ROOT_NAMESPACE = 'visor-trust-root';
export const SIGNED_TRUST_FILES = ['root.json', 'endorsers.json'] as const;
export type SignedTrustFile = (typeof SIGNED_TRUST_FILES)[number];

export interface TrustSignature {
  /** The signing key's fingerprint, as `ssh-keygen -l` prints it. */
  key: string;
  signature: string;
}

export interface TrustSignatureEntry {
  /** endorsers.json's entries only: the version the signatures cover. */
  version?: number;
  signatures: TrustSignature[];
}

export type TrustSignatures = Partial<Record<SignedTrustFile, TrustSignatureEntry>>;

/** What a root's signature over `file` at `version` covers. `content` is the file parsed (null: the file deleted). */
export function trustMessage(file: SignedTrustFile, version: number, content: unknown): Buffer {
  return canonicalBytes({ file, version, content });
}

/** Reads signatures.json's text (undefined: no file, no signatures); well-formed entries count, problems are kept. */
export function parseTrustSignatures(text: string | undefined): { signatures: TrustSignatures; problems: FileProblem[] } {
  const signatures: TrustSignatures = {};
  const problems: FileProblem[] = [];
  if (text === undefined) return { signatures, problems };
  const bad = (field: string, rule: string, expected: string, message: string) => problems.push({ file: TRUST_SIGNATURES_FILE, field, rule, expected, message: `${TRUST_SIGNATURES_FILE} ${field === '(file)' ? '' : `${field} `}${message}` });
  if (Buffer.byteLength(text) > MAX_TRUST_FILE_BYTES) {
    bad('(file)', 'max-size', `at most ${MAX_TRUST_FILE_BYTES} bytes`, `is ${Buffer.byteLength(text)} bytes`);
    return { signatures, problems };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    bad('(file)', 'json', 'a JSON object', `is not JSON: ${(error as Error).message}`);
    return { signatures, problems };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    bad('(file)', 'type', '{"root.json": {"signatures": […]}, "endorsers.json": {"version": 1, "signatures": […]}}', 'is not an object');
    return { signatures, problems };
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (!(SIGNED_TRUST_FILES as readonly string[]).includes(name)) {
      bad(name, 'signed-file', SIGNED_TRUST_FILES.join(' or '), `${JSON.stringify(name.slice(0, 60))} is not a file the roots sign`);
      continue;
    }
    const file = name as SignedTrustFile;
    const e = value as { version?: unknown; signatures?: unknown } | null;
    const allowed = file === 'endorsers.json' ? ['version', 'signatures'] : ['signatures'];
    if (typeof e !== 'object' || e === null || Array.isArray(e) || Object.keys(e).some((k) => !allowed.includes(k)) || !Array.isArray(e.signatures)) {
      bad(file, 'type', file === 'endorsers.json' ? '{"version": 1, "signatures": [{"key", "signature"}]}' : '{"signatures": [{"key", "signature"}]}', 'is not such an entry');
      continue;
    }
    if (file === 'endorsers.json' && (typeof e.version !== 'number' || !Number.isSafeInteger(e.version) || e.version < 1)) {
      bad(`${file}.version`, 'type', 'an integer from 1', `${JSON.stringify(e.version)} is not a version`);
      continue;
    }
    const list: TrustSignature[] = [];
    e.signatures.forEach((s: unknown, i) => {
      const sig = s as { key?: unknown; signature?: unknown } | null;
      if (typeof sig !== 'object' || sig === null || typeof sig.key !== 'string' || typeof sig.signature !== 'string' || Object.keys(sig).length !== 2) {
        return bad(`${file}.signatures[${i}]`, 'type', '{"key": "SHA256:…", "signature": "-----BEGIN SSH SIGNATURE-----…"}', 'is not a signature');
      }
      list.push({ key: sig.key, signature: sig.signature });
    });
    signatures[file] = { ...(file === 'endorsers.json' ? { version: e.version as number } : {}), signatures: list };
  }
  return { signatures, problems };
}

/** The file's text, indented for review, entries in a stable order. */
export function serializeTrustSignatures(signatures: TrustSignatures): string {
  const out: Record<string, TrustSignatureEntry> = {};
  for (const file of SIGNED_TRUST_FILES) {
    const e = signatures[file];
    if (e) out[file] = { ...(e.version === undefined ? {} : { version: e.version }), signatures: [...e.signatures].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
  }
  return `${JSON.stringify(out, null, 2)}\n`;
}

export interface SignatureCount {
  threshold: number;
  roots: readonly TrustRoot[];
  /** Roots whose signature checks out, each once, in the roots' order. */
  signers: TrustRoot[];
  /** Signatures that do not count, each with its key and why. */
  rejected: string[];
}

/**
 * Counts the roots whose signature over `message` checks out. A signature that does not verify, or
 * whose key is not a root, does not count (and is named); a root signing twice counts once.
 */
export function countSignatures(signatures: readonly TrustSignature[], message: Buffer, roots: readonly TrustRoot[], threshold: number): SignatureCount {
  const byKey = new Map(roots.map((r) => [r.key.fingerprint, r]));
  const signed = new Set<string>();
  const rejected: string[] = [];
  for (const s of signatures) {
    const named = s.key.slice(0, 60);
    let fingerprint: string;
    try {
      fingerprint = verifySsh(s.signature, message, TRUST_ROOT_NAMESPACE).publicKey.fingerprint;
    } catch (error) {
      rejected.push(`${named} (${(error as Error).message})`);
      continue;
    }
    if (fingerprint !== s.key) rejected.push(`${named} (signed by key ${fingerprint})`);
    else if (!byKey.has(fingerprint)) rejected.push(`${named} (not a root)`);
    else signed.add(fingerprint);
  }
  return { threshold, roots, signers: roots.filter((r) => signed.has(r.key.fingerprint)), rejected };
}

export function thresholdMet(count: SignatureCount): boolean {
  return count.signers.length >= count.threshold;
}

/** "2 of alice@site-a, bob@site-b, carol@site-c" */
export function thresholdText(count: SignatureCount): string {
  return `${count.threshold} of ${count.roots.map((r) => r.identity).join(', ')}`;
}

/** "got 1: alice@site-a; not counted: SHA256:… (not a root)" */
export function signedText(count: SignatureCount): string {
  const got = `got ${count.signers.length}${count.signers.length > 0 ? `: ${count.signers.map((r) => r.identity).join(', ')}` : ''}`;
  return count.rejected.length > 0 ? `${got}; not counted: ${count.rejected.join(', ')}` : got;
}

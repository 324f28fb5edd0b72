import { invalidField } from '../errors/VisorError.ts';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { ENDORSERS_FILE, ROOT_FILE, TRUST_SIGNATURES_FILE } from '../catalog/CatalogLayout.ts';
import { signSsh, verifySsh } from './SshSignature.ts';
import type { SshPrivateKey } from './SshKeys.ts';
import { parseRootFile, type RootFile } from './TrustRoots.ts';
import { countEndorserSignatures, countRootSignatures, trustRootProblems, type TrustTexts } from './TrustRootChecks.ts';
import { parseTrustSignatures, serializeTrustSignatures, thresholdMet, trustMessage, TRUST_ROOT_NAMESPACE, type SignatureCount, type SignedTrustFile } from './TrustSignatures.ts';

/** A catalogue's trust files as they are now (the working tree) and as last committed (HEAD). */
export interface TrustFileVersions {
  working: (path: string) => Promise<string | undefined>;
  committed: (path: string) => Promise<string | undefined>;
}

export interface SignResult {
  file: SignedTrustFile;
  version: number;
  /** The new text of trust/signatures.json. */
  text: string;
  /** Whether the key is one of the roots root.json lists now (a signature by any other counts for nothing). */
  isRoot: boolean;
  /** Co-signers' signatures that no longer match the file as it is now, and were dropped. */
  dropped: string[];
}

function rootOf(text: string | undefined): RootFile {
  if (text === undefined) throw invalidField('file', 'exists', `${ROOT_FILE} in the catalogue`, `${ROOT_FILE} is not in the catalogue: write it first`);
  const parsed = parseRootFile(text);
  if (!parsed.root) throw invalidField('file', parsed.problems[0]?.rule ?? 'root', parsed.problems[0]?.expected ?? 'a well-formed root file', `${ROOT_FILE}: ${parsed.problems.map((p) => p.message).join('; ')}`);
  return parsed.root;
}

/**
 * Adds (or replaces) `key`'s signature over `file` as it is in the working tree to
 * trust/signatures.json. root.json is signed at its own version; the endorser list at the committed
 * version plus one, unless the working entry already carries a newer one (a co-signer keeps it).
 * Co-signers' signatures that still match are kept; those over another version or content are dropped.
 */
export async function signTrustFile(file: SignedTrustFile, key: SshPrivateKey, versions: TrustFileVersions): Promise<SignResult> {
  const { signatures } = parseTrustSignatures(await versions.working(TRUST_SIGNATURES_FILE));
  const roots = (await versions.working(ROOT_FILE)) === undefined ? undefined : rootOf(await versions.working(ROOT_FILE));
  let version: number;
  let content: unknown;
  if (file === 'root.json') {
    const root = rootOf(await versions.working(ROOT_FILE));
    version = root.version;
    content = root.content;
  } else {
    const text = await versions.working(ENDORSERS_FILE);
    try {
      content = text === undefined ? null : (JSON.parse(text) as unknown);
    } catch (error) {
      throw invalidField('file', 'json', 'a JSON endorser list', `${ENDORSERS_FILE} is not JSON: ${(error as Error).message}`);
    }
    const committed = parseTrustSignatures(await versions.committed(TRUST_SIGNATURES_FILE)).signatures['endorsers.json']?.version ?? 0;
    const working = signatures['endorsers.json']?.version ?? 0;
    version = working > committed ? working : committed + 1;
  }
  let message: Buffer;
  try {
    message = trustMessage(file, version, content);
  } catch (error) {
    throw invalidField('file', 'canonical-json', 'JSON of strings, objects, lists and non-negative integers', `${file} cannot be signed: ${(error as Error).message}`);
  }
  const mine = key.publicKey.fingerprint;
  const kept = [];
  const dropped: string[] = [];
  for (const s of signatures[file]?.signatures ?? []) {
    if (s.key === mine) continue;
    try {
      if (verifySsh(s.signature, message, TRUST_ROOT_NAMESPACE).publicKey.fingerprint === s.key) {
        kept.push(s);
        continue;
      }
    } catch {
      // Over another version or content: it no longer counts, so it goes.
    }
    dropped.push(s.key);
  }
  kept.push({ key: mine, signature: signSsh(key, message, TRUST_ROOT_NAMESPACE) });
  signatures[file] = { ...(file === 'endorsers.json' ? { version } : {}), signatures: kept };
  return { file, version, text: serializeTrustSignatures(signatures), isRoot: roots?.roots.some((r) => r.key.fingerprint === mine) ?? false, dropped };
}

export interface SignedFileStatus {
  file: SignedTrustFile;
  version: number;
  /** The roots counted against, with their threshold; `old` for a rotation not yet committed. */
  count: SignatureCount;
  met: boolean;
}

export interface TrustStatus {
  roots: boolean;
  files: Array<SignedFileStatus & { against: string }>;
  /** What the hooks and CI would refuse in a commit of the working tree on top of HEAD. */
  problems: FileProblem[];
}

/** Who signed what, and whether a commit of the working tree's trust files would pass (the same rules as the hooks). */
export async function trustStatus(versions: TrustFileVersions): Promise<TrustStatus> {
  const rootText = await versions.working(ROOT_FILE);
  const all = [ROOT_FILE, TRUST_SIGNATURES_FILE, ENDORSERS_FILE];
  const tree: TrustTexts = { text: versions.working, baseText: versions.committed };
  const problems = await trustRootProblems({ added: [], modified: all, deleted: [] }, tree);
  if (rootText === undefined) return { roots: false, files: [], problems };
  const root = parseRootFile(rootText).root;
  if (!root) return { roots: true, files: [], problems };
  const { signatures } = parseTrustSignatures(await versions.working(TRUST_SIGNATURES_FILE));
  const files: TrustStatus['files'] = [];
  const own = countRootSignatures(signatures, root, root);
  files.push({ file: 'root.json', version: root.version, count: own, met: thresholdMet(own), against: `its roots, version ${root.version}` });
  const committedText = await versions.committed(ROOT_FILE);
  const committed = committedText === undefined ? undefined : parseRootFile(committedText).root;
  if (committed && committed.version !== root.version) {
    const old = countRootSignatures(signatures, root, committed);
    files.push({ file: 'root.json', version: root.version, count: old, met: thresholdMet(old), against: `the committed roots, version ${committed.version}` });
  }
  const endorsersText = await versions.working(ENDORSERS_FILE);
  const count = countEndorserSignatures(signatures, endorsersText, root);
  if (count && (endorsersText !== undefined || signatures['endorsers.json'])) {
    files.push({ file: 'endorsers.json', version: signatures['endorsers.json']?.version ?? 0, count, met: thresholdMet(count), against: `the roots, version ${root.version}` });
  }
  return { roots: true, files, problems };
}

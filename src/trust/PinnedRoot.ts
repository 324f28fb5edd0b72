import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { ROOT_FILE, TRUST_SIGNATURES_FILE } from '../catalog/CatalogLayout.ts';
import { invalidField } from '../errors/VisorError.ts';
import { canonicalBytes } from './CanonicalJson.ts';
import { trustRootProblems, type TrustFileState } from './TrustRootChecks.ts';
import { MAX_TRUST_FILE_BYTES, parseRootFile, type RootFile } from './TrustRoots.ts';

/**
 * An upstream's trust roots as the operator pinned them (`upstreams.<name>.trust_root`): a copy of
 * its trust/root.json, obtained out of band, as a TUF client ships with a trusted root.json. What the
 * upstream offers must then be this root or descend from it by valid rotations, instead of being
 * trusted on first use. The file is trusted as it stands: no signatures are asked of it.
 */
export interface PinnedRoot {
  /** The file it was read from (absolute). */
  file: string;
  root: RootFile;
}

/** Reads the pinned root at start: a file that cannot be read or is not a valid root stops the start, naming the setting. */
export function readPinnedRoot(file: string, field: string): PinnedRoot {
  const expected = `a readable copy of the upstream's trust/root.json ({"version", "threshold", "roots"}, at most ${MAX_TRUST_FILE_BYTES} bytes), checked out of band`;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw invalidField(field, 'readable', expected, `${field}: cannot read ${file}: ${(error as Error).message}`);
  }
  const { root, problems } = parseRootFile(text);
  if (!root) throw invalidField(field, 'root-file', expected, `${field}: ${file} is not a valid trust root file: ${problems.map((p) => p.message.replace(`${ROOT_FILE} `, '')).join('; ')}`);
  return { file, root };
}

/** Names a pin (its roots' content), so that a root remembered under another pin is not taken for this one's. */
export function pinDigest(pin: PinnedRoot): string {
  return createHash('sha256').update(canonicalBytes(pin.root.content)).digest('hex');
}

/** "version 2, threshold 2 of SHA256:… (alice@site-a), SHA256:… (bob@site-b)" */
export function describeRoot(root: RootFile): string {
  return `version ${root.version}, threshold ${root.threshold} of ${root.roots.map((r) => `${r.key.fingerprint} (${r.identity})`).join(', ')}`;
}

export function sameRoot(a: RootFile, b: RootFile): boolean {
  return isDeepStrictEqual(a.content, b.content);
}

/**
 * What keeps `offered` (with the signatures.json beside it) from descending from `anchor`, the pinned
 * root or one accepted from it since: nothing when it is the anchor itself; otherwise the catalogue's
 * own rotation rules (src/trust/TrustRootChecks.ts), with the anchor as the base, walking `history`
 * (the root states along the upstream's branch, oldest first) from the anchor's last appearance, so
 * a pin of a later version skips the versions before it. Only the roots' problems are answered: the
 * endorser list under them is the catalogue checks' to judge, as for any sync.
 */
export async function rootChainProblems(anchor: RootFile, offered: RootFile, signaturesText: string | undefined, history: readonly TrustFileState[]): Promise<FileProblem[]> {
  if (sameRoot(anchor, offered)) return [];
  let from = 0;
  history.forEach((state, i) => {
    const r = state.root === undefined ? undefined : parseRootFile(state.root).root;
    if (r && sameRoot(r, anchor)) from = i + 1;
  });
  const steps = history.slice(from);
  const texts: Record<string, string | undefined> = { [ROOT_FILE]: JSON.stringify(offered.content), [TRUST_SIGNATURES_FILE]: signaturesText };
  const problems = await trustRootProblems(
    { added: [], modified: [ROOT_FILE], deleted: [] },
    {
      text: async (path) => texts[path],
      baseText: async (path) => (path === ROOT_FILE ? JSON.stringify(anchor.content) : undefined),
      rootHistory: async () => [...steps],
    },
  );
  return problems.filter((p) => p.file === ROOT_FILE || p.file === TRUST_SIGNATURES_FILE);
}

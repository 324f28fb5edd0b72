import { isDeepStrictEqual } from 'node:util';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { ENDORSERS_FILE, ROOT_FILE, TRUST_SIGNATURES_FILE } from '../catalog/CatalogLayout.ts';
import { parseRootFile, type RootFile } from './TrustRoots.ts';
import { countSignatures, parseTrustSignatures, signedText, thresholdMet, thresholdText, trustMessage, type SignatureCount, type TrustSignatures } from './TrustSignatures.ts';

export interface TrustChanges {
  added: readonly string[];
  modified: readonly string[];
  deleted: readonly string[];
}

export interface TrustTexts {
  /** A file's text in the version being checked; undefined when absent. */
  text(path: string): Promise<string | undefined>;
  /** The same in the version it is checked against; undefined when absent (always, for a whole catalogue). */
  baseText(path: string): Promise<string | undefined>;
  /** Root.json and signatures.json after each commit between the base and the target that touched them, oldest first (between two commits only). */
  rootHistory?(): Promise<TrustFileState[]>;
}

export interface TrustFileState {
  root: string | undefined;
  signatures: string | undefined;
}

/**
 * The root versions a change rotates through, each with the last signatures it had: from the
 * history when the version jumps by more than one and the history is known, else the target alone.
 */
async function rotationSteps(tree: TrustTexts, base: RootFile, root: RootFile, signatures: TrustSignatures): Promise<Array<{ root: RootFile; signatures: TrustSignatures }>> {
  const target = [{ root, signatures }];
  if (root.version <= base.version + 1 || !tree.rootHistory) return target;
  const chain: Array<{ root: RootFile; signatures: TrustSignatures }> = [];
  for (const state of await tree.rootHistory()) {
    const r = state.root === undefined ? undefined : parseRootFile(state.root).root;
    if (!r) continue;
    const s = parseTrustSignatures(state.signatures).signatures;
    const last = chain.at(-1)?.root ?? base;
    if (isDeepStrictEqual(last.content, r.content)) {
      if (chain.length > 0) chain[chain.length - 1]!.signatures = s;
    } else chain.push({ root: r, signatures: s });
  }
  if (chain.length === 0 || !isDeepStrictEqual(chain.at(-1)!.root.content, root.content)) return target;
  chain[chain.length - 1] = { root, signatures };
  return chain;
}

const TRUST_FILES = [ROOT_FILE, TRUST_SIGNATURES_FILE, ENDORSERS_FILE];

/** The endorser list parsed, as a signature covers it: null when there is none; undefined when it is not JSON. */
function endorsersContent(text: string | undefined): unknown {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The roots' signatures over root.json, counted against `root`'s keys and threshold. */
export function countRootSignatures(signatures: TrustSignatures, signed: RootFile, by: RootFile): SignatureCount {
  return countSignatures(signatures['root.json']?.signatures ?? [], trustMessage('root.json', signed.version, signed.content), by.roots, by.threshold);
}

/** The roots' signatures over the endorser list (its content, at the entry's version); undefined when the list is not JSON. */
export function countEndorserSignatures(signatures: TrustSignatures, endorsersText: string | undefined, root: RootFile): SignatureCount | undefined {
  const content = endorsersContent(endorsersText);
  const entry = signatures['endorsers.json'];
  if (content === undefined) return undefined;
  let message: Buffer;
  try {
    message = trustMessage('endorsers.json', entry?.version ?? 0, content);
  } catch {
    return undefined;
  }
  return countSignatures(entry?.signatures ?? [], message, root.roots, root.threshold);
}

/**
 * TUF's root role over a catalogue's endorser list, judged wherever statements are (the hooks, CI,
 * syncs; a whole catalogue as if every file were added), and only where the base or the target
 * holds trust/root.json: a catalogue without roots changes its endorser list by review alone.
 * - root.json added (trust on first use, as in TUF): signed by its own threshold of its own keys;
 * - root.json changed (a rotation): its version is the old one plus one, and it is signed by the old
 *   threshold of the old keys and by its own threshold of its own keys (so neither a thief of the
 *   new keys nor one of a minority of the old can rotate);
 * - root.json deleted: never (it would remove the protection);
 * - whenever a trust file changes, the endorser list as it will be is signed by the threshold of the
 *   roots as they will be (after a rotation that drops signers, it is signed again), and a changed
 *   list carries a greater version than the base's (an older signed list cannot be put back).
 * A signature that does not verify or is not by a root does not count, and is named.
 */
export async function trustRootProblems(changes: TrustChanges, tree: TrustTexts): Promise<FileProblem[]> {
  const changed = new Set([...changes.added, ...changes.modified, ...changes.deleted]);
  if (!TRUST_FILES.some((f) => changed.has(f))) return [];
  const [rootText, baseRootText] = await Promise.all([tree.text(ROOT_FILE), tree.baseText(ROOT_FILE)]);
  if (rootText === undefined && baseRootText === undefined) return [];
  const problems: FileProblem[] = [];
  const bad = (file: string, field: string, rule: string, expected: string, message: string) => problems.push({ file, field, rule, expected, message });
  if (rootText === undefined) {
    bad(ROOT_FILE, '(file)', 'root-removed', 'trust/root.json kept (rotate the roots instead)', `${ROOT_FILE} cannot be deleted: removing the trust roots would remove the protection of the endorser list`);
    return problems;
  }
  const parsed = parseRootFile(rootText);
  if (!parsed.root) return parsed.problems;
  const root = parsed.root;
  const [signaturesText, baseSignaturesText, endorsersText, baseEndorsersText] = await Promise.all([tree.text(TRUST_SIGNATURES_FILE), tree.baseText(TRUST_SIGNATURES_FILE), tree.text(ENDORSERS_FILE), tree.baseText(ENDORSERS_FILE)]);
  const { signatures, problems: signatureProblems } = parseTrustSignatures(signaturesText);
  problems.push(...signatureProblems);

  // root.json: a rotation from a well-formed base; otherwise (new, or only re-signed) on its own.
  const base = baseRootText === undefined ? undefined : parseRootFile(baseRootText).root;
  const own = countRootSignatures(signatures, root, root);
  const rotated = base !== undefined && !isDeepStrictEqual(base.content, root.content);
  if (rotated) {
    // Each step of a rotation, as a TUF client walks root versions: the next version, signed by the
    // threshold of the roots before it and by its own (the last step's own signatures are judged below).
    const steps = await rotationSteps(tree, base, root, signatures);
    let before = base;
    steps.forEach((step, i) => {
      const last = i === steps.length - 1;
      if (step.root.version !== before.version + 1) {
        bad(ROOT_FILE, 'version', 'root-version', `${before.version + 1} (the old version plus one)`, `${ROOT_FILE} version ${step.root.version} replaces version ${before.version}: a rotation takes the next version, ${before.version + 1}`);
      }
      const old = countRootSignatures(step.signatures, step.root, before);
      if (!thresholdMet(old)) bad(ROOT_FILE, 'signatures', 'root-threshold', `${thresholdText(old)} (the old roots, version ${before.version})`, `${ROOT_FILE} version ${step.root.version} needs the signatures of ${thresholdText(old)} (the old roots, version ${before.version}); ${signedText(old)}`);
      const itself = countRootSignatures(step.signatures, step.root, step.root);
      if (!last && !thresholdMet(itself)) bad(ROOT_FILE, 'signatures', 'root-threshold', `${thresholdText(itself)} (the new roots)`, `${ROOT_FILE} version ${step.root.version} needs the signatures of ${thresholdText(itself)} (the new roots); ${signedText(itself)}`);
      before = step.root;
    });
  }
  if (!thresholdMet(own)) {
    const whose = rotated ? 'the new roots' : base === undefined ? 'its own roots: trust on first use' : 'its own roots';
    bad(ROOT_FILE, 'signatures', 'root-threshold', `${thresholdText(own)} (${whose})`, `${ROOT_FILE} version ${root.version} needs the signatures of ${thresholdText(own)} (${whose}); ${signedText(own)}`);
  }

  // The endorser list, as it will be, under the roots as they will be.
  if (endorsersText === undefined && baseEndorsersText === undefined) return problems;
  const entryVersion = signatures['endorsers.json']?.version ?? 0;
  const count = countEndorserSignatures(signatures, endorsersText, root);
  const what = endorsersText === undefined ? `the deletion of ${ENDORSERS_FILE}` : `${ENDORSERS_FILE} version ${entryVersion}`;
  if (count === undefined) bad(ENDORSERS_FILE, '(file)', 'endorsers-threshold', 'a JSON endorser list the roots can sign', `${ENDORSERS_FILE} is not JSON the roots could have signed`);
  else if (!thresholdMet(count)) {
    bad(ENDORSERS_FILE, 'signatures', 'endorsers-threshold', `${thresholdText(count)} (${ROOT_FILE} version ${root.version})`, `${what} needs the signatures of ${thresholdText(count)} (${ROOT_FILE} version ${root.version}); ${signedText(count)}${count.signers.length === 0 && count.rejected.length === 0 ? ` (sign it: visor trust sign endorsers.json --key KEY)` : ''}`);
  }
  const baseContent = endorsersContent(baseEndorsersText);
  if (!isDeepStrictEqual(baseContent, endorsersContent(endorsersText))) {
    const baseVersion = parseTrustSignatures(baseSignaturesText).signatures['endorsers.json']?.version ?? 0;
    if (entryVersion <= baseVersion) {
      bad(TRUST_SIGNATURES_FILE, 'endorsers.json.version', 'endorsers-version', `greater than ${baseVersion}`, `${ENDORSERS_FILE} changed, so its signed version must grow past ${baseVersion}; it is ${entryVersion} (an older signed list cannot be put back)`);
    }
  }
  return problems;
}

/**
 * A catalogue's trust files judged on their own, as if every one were just added (a clone checked
 * offline, where no history is trusted): root.json signed by its own threshold, the endorser list by
 * the roots'. A catalogue without root.json has none of these rules (its list stands by review).
 */
export function standaloneTrustProblems(text: (path: string) => Promise<string | undefined>): Promise<FileProblem[]> {
  return trustRootProblems({ added: TRUST_FILES, modified: [], deleted: [] }, { text, baseText: async () => undefined });
}

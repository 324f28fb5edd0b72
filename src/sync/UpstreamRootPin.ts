import { join } from 'node:path';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { ROOT_FILE, TRUST_SIGNATURES_FILE } from '../catalog/CatalogLayout.ts';
import { trustFileTexts, trustFilesAlong } from '../catalog/TrustFileHistory.ts';
import { GitObjectReader } from '../git/GitObjectReader.ts';
import { GitRunner } from '../git/GitRunner.ts';
import { describeRoot, pinDigest, rootChainProblems, type PinnedRoot } from '../trust/PinnedRoot.ts';
import { UpstreamStateFile } from './UpstreamStateFile.ts';
import { MAX_TRUST_FILE_BYTES, parseRootFile, type RootFile } from '../trust/TrustRoots.ts';

/** What a pinned upstream offered: a problem refuses the sync; else the root to remember, with the head it came with, once the sync is taken. */
export type PinOutcome = { problem: FileProblem; offered?: undefined } | { problem?: undefined; offered: { root: RootFile; head: string } };

interface Remembered {
  /** pinDigest of the pin it was accepted under: another pin starts again from itself. */
  pinned: string;
  root: unknown;
  /** The upstream head it was accepted at: the next walk along the branch starts there. */
  head: string;
}

/**
 * Holds an upstream with `trust_root` to its pinned roots (TUF's shipped root.json): at every sync
 * the trust/root.json at the head it offers must be the newest root accepted from it, or descend
 * from it by rotations along the branch, each signed by the threshold of the version before (the
 * catalogue's own rotation rules). The newest accepted root is remembered beside the catalogue's git
 * data (`.git/visor/upstream-roots.json`), with the pin it was accepted under and the head it came
 * with, rather than derived from the history taken: a root taken before the pin was configured, or
 * under another pin, was never checked against it; and, as a TUF client keeps its newest trusted
 * root, an older root offered again later (a re-signed old version, an older key found again) never
 * counts. An admin who must start again from the pin removes the upstream's entry there.
 */
export class UpstreamRootPin {
  private readonly remembered: UpstreamStateFile<Remembered>;

  constructor(gitDir: string) {
    this.remembered = new UpstreamStateFile(join(gitDir, 'visor', 'upstream-roots.json'), 'upstream_roots');
  }

  /**
   * Judges what the upstream offers at `theirs` (its objects in the quarantine `dir`). From a
   * remembered root the walk along the branch starts at the head it was accepted at (the history
   * before was walked then); from the pin, or when that head is no longer in the branch, at the start.
   */
  async check(upstream: { name: string; branch: string; trustRoot: PinnedRoot }, dir: string, theirs: string): Promise<PinOutcome> {
    const pin = upstream.trustRoot;
    const remembered = await this.acceptedBefore(upstream.name, pin);
    const kept = remembered?.root;
    const anchor = kept ?? pin.root;
    const git = new GitRunner(dir);
    const reader = new GitObjectReader(dir);
    try {
      const [rootFile, signaturesFile] = await trustFileTexts(git, reader, [`${theirs}:${ROOT_FILE}`, `${theirs}:${TRUST_SIGNATURES_FILE}`]);
      // The setting, not the file's path: a sync account sees the problems, and local paths are for admins.
      const pinned = `the root pinned by upstreams.${upstream.name}.trust_root, ${describeRoot(pin.root)}${kept ? `, or the newest accepted from it since, ${describeRoot(kept)}` : ''}`;
      const refuse = (offered: string, why: string): PinOutcome => ({
        problem: {
          file: ROOT_FILE,
          field: '(file)',
          rule: 'trust-root-pin',
          expected: `${ROOT_FILE} ${describeRoot(anchor)}, or a later version reached by rotations, each signed by the threshold of the version before`,
          message: `upstream ${upstream.name}'s branch ${upstream.branch} at ${theirs.slice(0, 12)} offers ${offered}, which does not descend from ${pinned}: ${why}; nothing of the sync is taken`,
        },
      });
      if (rootFile!.text === undefined) {
        if (rootFile!.size !== undefined) return refuse(`a ${ROOT_FILE} of ${rootFile!.size} bytes`, `a root file is at most ${MAX_TRUST_FILE_BYTES} bytes`);
        return refuse(`no ${ROOT_FILE}`, 'the pin says its endorsements matter, and without roots its endorser list would change by review alone');
      }
      const parsed = parseRootFile(rootFile!.text);
      if (!parsed.root) return refuse(`a ${ROOT_FILE} that is not a valid root file`, parsed.problems.map((p) => p.message).join('; '));
      const offered = parsed.root;
      const since = remembered && (await git.run(['merge-base', '--is-ancestor', remembered.head, theirs]).then(() => true, () => false)) ? remembered.head : undefined;
      const history = await trustFilesAlong(git, reader, since, theirs);
      const problems = await rootChainProblems(anchor, offered, signaturesFile!.text, history);
      if (problems.length > 0) return refuse(`${ROOT_FILE} ${describeRoot(offered)}`, problems.map((p) => `${p.message} [${p.rule}]`).join('; '));
      return { offered: { root: offered, head: theirs } };
    } finally {
      reader.close();
    }
  }

  /** Remembers the root a sync took (or found already merged) as the one later syncs chain from. */
  accepted(upstream: string, pin: PinnedRoot, offered: { root: RootFile; head: string }): Promise<void> {
    return this.remembered.set(upstream, { pinned: pinDigest(pin), root: offered.root.content, head: offered.head });
  }

  /** The newest root accepted from the upstream under this pin, if any, and the head it came with. */
  private async acceptedBefore(upstream: string, pin: PinnedRoot): Promise<{ root: RootFile; head: string } | undefined> {
    const entry = await this.remembered.get(upstream);
    if (entry === undefined || entry.pinned !== pinDigest(pin)) return undefined;
    // A file edited by hand into something that is no root: start again from the pin.
    const root = parseRootFile(JSON.stringify(entry.root)).root;
    return root && typeof entry.head === 'string' && /^[0-9a-f]{40,64}$/.test(entry.head) ? { root, head: entry.head } : undefined;
  }
}

import { join } from 'node:path';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { GitRunner } from '../git/GitRunner.ts';
import { GitObjectReader } from '../git/GitObjectReader.ts';
import { ImageSchema } from './ImageSchema.ts';
import { CatalogFacts, type RecordFacts } from './CatalogFacts.ts';
import { checkChanges, treeFactsOf, type ChangeCheckContext, type ChangeSummary, type CheckOptions } from './ChangeChecker.ts';
import type { TreeFacts } from './TreeFacts.ts';
import { diffCommits, type TreeRef } from './CatalogTree.ts';
import type { FileProblem } from './CatalogScanner.ts';
import { historyProblems } from './HistoryChecks.ts';
import { visibilityOf, type Visibility } from './CatalogVisibility.ts';
import { CATALOG_CONFIG_FILE } from './CatalogLayout.ts';

export const ZERO_OID = /^0+$/;
const COMMIT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * One checking session over a repository (a clone or a bare server repository): the object reader,
 * the schema and the facts cache, opened once and shared by every check of a hook run.
 */
export class CatalogCheckRun {
  readonly git: GitRunner;
  private readonly reader: GitObjectReader;
  private readonly schema = new ImageSchema();
  private readonly facts: CatalogFacts;
  /** The last commit's files and facts, kept current by diffs from check to check. */
  private latest: { commit: string; tree: TreeFacts } | undefined;

  private constructor(git: GitRunner, gitDir: string) {
    this.git = git;
    this.reader = new GitObjectReader(git.dir);
    this.facts = new CatalogFacts(join(gitDir, 'visor', 'facts.json'));
  }

  static async open(dir: string): Promise<CatalogCheckRun> {
    const git = new GitRunner(dir);
    const gitDir = (await git.run(['rev-parse', '--absolute-git-dir'])).stdout.trim();
    return new CatalogCheckRun(git, gitDir);
  }

  async check(base: TreeRef, target: TreeRef, options: CheckOptions = {}): Promise<{ problems: FileProblem[]; changes: ChangeSummary }> {
    return checkChanges(this.context(), base, target, options);
  }

  /** Lists a commit and learns the facts of its records ahead of the first check that needs them. */
  async prepare(commit: string): Promise<void> {
    await this.tree({ kind: 'commit', rev: commit });
  }

  private context(): ChangeCheckContext {
    return { git: this.git, reader: this.reader, schema: this.schema, facts: this.facts, tree: (ref) => this.tree(ref) };
  }

  /**
   * A commit's files and facts. A run that checks one commit after another (a daemon's syncs) lists
   * the tree once, then moves it along `git diff-tree`: proportional to the change. Other versions
   * (the index, a name rather than a commit id) are listed in full.
   */
  private async tree(ref: TreeRef): Promise<TreeFacts> {
    if (ref.kind !== 'commit' || !COMMIT_ID.test(ref.rev)) return treeFactsOf(this.context(), ref);
    if (this.latest?.commit === ref.rev) return this.latest.tree;
    if (!this.latest) {
      this.latest = { commit: ref.rev, tree: await treeFactsOf(this.context(), ref) };
      return this.latest.tree;
    }
    const { tree } = this.latest;
    const changed = await diffCommits(this.git, this.latest.commit, ref.rev);
    const added = new Map(changed.filter((c) => c.status !== 'D').map((c) => [c.path, c.after]));
    const facts = await this.facts.forTree(added, this.reader);
    for (const c of changed) {
      if (c.status === 'D') tree.delete(c.path);
      else tree.set(c.path, c.after, facts.get(c.path));
    }
    this.latest = { commit: ref.rev, tree };
    return tree;
  }

  async isAncestor(older: string, newer: string): Promise<boolean> {
    try {
      await this.git.run(['merge-base', '--is-ancestor', older, newer]);
      return true;
    } catch {
      return false;
    }
  }

  /** The facts (owner, origin, series…) of a record as a commit has it: from memory for the commit last checked. */
  async factsAt(commit: string, path: string): Promise<RecordFacts | undefined> {
    return (await this.tree({ kind: 'commit', rev: commit })).factsOf(path);
  }

  /** A record file as a commit has it: undefined when absent or not JSON. */
  async record(commit: string, path: string): Promise<ImageRecord | undefined> {
    const text = await this.reader.text(`${commit}:${path}`);
    try {
      return text === undefined ? undefined : (JSON.parse(text) as ImageRecord);
    } catch {
      return undefined;
    }
  }

  /** A file's text as a commit has it (undefined when absent), through the run's one object reader. */
  async text(commit: string, path: string): Promise<string | undefined> {
    return this.reader.text(`${commit}:${path}`);
  }

  /** The visibility a commit's visor-catalog.json gives the catalogue. */
  async visibilityAt(commit: string): Promise<Visibility> {
    return visibilityOf(await this.reader.text(`${commit}:${CATALOG_CONFIG_FILE}`));
  }

  /**
   * Every commit of `range` checked file by file (src/catalog/HistoryChecks.ts): what the final tree
   * no longer shows stays in history. `where`: another repository holding the commits (a sync's
   * quarantine), read for this check alone.
   */
  async history(range: string, options: { publicOnly: boolean }, where?: string): Promise<FileProblem[]> {
    if (where === undefined) return historyProblems(this.git, this.reader, this.schema, range, options);
    const reader = new GitObjectReader(where);
    try {
      return await historyProblems(new GitRunner(where), reader, this.schema, range, options);
    } finally {
      reader.close();
    }
  }

  async close(): Promise<void> {
    await this.facts.save();
    this.reader.close();
  }
}

/** One line per problem: `FILE: field: message [rule]`, or a workflow command where GitHub Actions reads them. */
export function formatProblem(p: FileProblem, env: NodeJS.ProcessEnv = process.env): string {
  if (env['GITHUB_ACTIONS'] === 'true') return `::error file=${commandProperty(p.file)},title=${commandProperty(`${p.field} (${p.rule})`)}::${commandData(p.message)}`;
  return `${p.file}: ${p.field}: ${p.message} [${p.rule}]`;
}

/**
 * Escaped as GitHub's workflow commands require: a pull request names its files, and a path with a
 * line break (git allows one) would otherwise start a workflow command of its own on the next line.
 */
function commandData(text: string): string {
  return text.replaceAll('%', '%25').replaceAll('\r', '%0D').replaceAll('\n', '%0A');
}

function commandProperty(text: string): string {
  return commandData(text).replaceAll(':', '%3A').replaceAll(',', '%2C');
}

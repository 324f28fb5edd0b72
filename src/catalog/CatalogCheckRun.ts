import { join } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';
import { GitObjectReader } from '../git/GitObjectReader.ts';
import { ImageSchema } from './ImageSchema.ts';
import { CatalogFacts } from './CatalogFacts.ts';
import { checkChanges, type ChangeSummary } from './ChangeChecker.ts';
import type { TreeRef } from './CatalogTree.ts';
import type { FileProblem } from './CatalogScanner.ts';

export const ZERO_OID = /^0+$/;

/**
 * One checking session over a repository (a clone or a bare server repository): the object reader,
 * the schema and the facts cache, opened once and shared by every check of a hook run.
 */
export class CatalogCheckRun {
  readonly git: GitRunner;
  private readonly reader: GitObjectReader;
  private readonly schema = new ImageSchema();
  private readonly facts: CatalogFacts;

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

  async check(base: TreeRef, target: TreeRef): Promise<{ problems: FileProblem[]; changes: ChangeSummary }> {
    return checkChanges({ git: this.git, reader: this.reader, schema: this.schema, facts: this.facts }, base, target);
  }

  async isAncestor(older: string, newer: string): Promise<boolean> {
    try {
      await this.git.run(['merge-base', '--is-ancestor', older, newer]);
      return true;
    } catch {
      return false;
    }
  }

  /** Records added or changed by any single commit in old..new that are private: history keeps them even if a later commit drops them. */
  async privateRecordsIn(range: string): Promise<FileProblem[]> {
    const out = (await this.git.run(['log', '--format=@%H', '--name-only', '--diff-filter=AM', range, '--', 'images'])).stdout;
    const problems: FileProblem[] = [];
    let commit = '';
    for (const line of out.split('\n')) {
      if (line.startsWith('@')) commit = line.slice(1);
      else if (line.endsWith('.json')) {
        const text = await this.reader.text(`${commit}:${line}`);
        if (text && /"access"\s*:\s*"private"/.test(text)) {
          problems.push({ file: line, field: 'access', rule: 'public-catalogue', expected: 'public', message: `commit ${commit.slice(0, 12)} adds a private image to a public catalogue; private images must never leave their instance` });
        }
      }
    }
    return problems;
  }

  async close(): Promise<void> {
    await this.facts.save();
    this.reader.close();
  }
}

/** One line per problem: `FILE: field: message [rule]`, or a workflow command where GitHub Actions reads them. */
export function formatProblem(p: FileProblem, env: NodeJS.ProcessEnv = process.env): string {
  if (env['GITHUB_ACTIONS'] === 'true') return `::error file=${p.file},title=${p.field} (${p.rule})::${p.message}`;
  return `${p.file}: ${p.field}: ${p.message} [${p.rule}]`;
}

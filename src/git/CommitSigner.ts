import type { SshPrivateKey } from '../trust/SshKeys.ts';
import { commitParents, signCommitBody, withParents } from '../trust/CommitSignature.ts';
import { GitObjectReader } from './GitObjectReader.ts';
import { writeLooseObject, type ObjectFormat } from './LooseObjects.ts';

/**
 * Signs commits made by git tools that cannot sign them here (fast-import before git 2.49; merges
 * run without an ssh-keygen): each commit is written again with a `gpgsig` header by the instance's
 * key, and the caller moves its branch to the signed copy. The unsigned originals are left
 * unreferenced (on no branch; gc removes them). The signed copy is a loose object written here:
 * git has no long-lived writer of raw commits, and a process per commit costs more than the commit.
 */
export class CommitSigner {
  private readonly dir: string;
  private readonly gitDir: string;
  private readonly key: SshPrivateKey;
  private readonly format: ObjectFormat;
  /** Started on the first chain to re-sign (a sync's merge): writes alone never read. */
  private reader: GitObjectReader | undefined;

  constructor(dir: string, gitDir: string, key: SshPrivateKey, format: ObjectFormat) {
    this.dir = dir;
    this.gitDir = gitDir;
    this.key = key;
    this.format = format;
  }

  /**
   * Signs a chain of commits, oldest first, each the first parent of the next: from the first one
   * re-signed on, a commit's first parent becomes the signed copy of the one before. Answers the
   * signed ids, in the same order.
   */
  async sign(chain: readonly string[]): Promise<string[]> {
    const signed: string[] = [];
    const renamed = new Map<string, string>();
    for (const id of chain) {
      this.reader ??= new GitObjectReader(this.dir);
      const object = await this.reader.object(id);
      if (!object || object.type !== 'commit') throw new Error(`cannot sign ${id}: not a commit in this repository`);
      const parents = commitParents(object.body);
      const body = parents.some((p) => renamed.has(p)) ? withParents(object.body, parents.map((p) => renamed.get(p) ?? p)) : object.body;
      const oid = await writeLooseObject(this.gitDir, 'commit', signCommitBody(body, this.key), this.format);
      renamed.set(id, oid);
      signed.push(oid);
    }
    return signed;
  }

  /** Signs one commit object not yet in the repository and writes the signed copy: its id. */
  write(unsigned: Buffer): Promise<string> {
    return writeLooseObject(this.gitDir, 'commit', signCommitBody(unsigned, this.key), this.format);
  }

  close(): void {
    this.reader?.close();
    this.reader = undefined;
  }
}

import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { GitRunner } from '../git/GitRunner.ts';
import { unavailable } from '../errors/VisorError.ts';

export interface CatalogChange {
  /** Path inside the catalogue, e.g. images/ab/<id>.json. */
  path: string;
  /** New content, or null to delete the file. */
  content: string | null;
}

export interface CommitAuthor {
  name: string;
  email: string;
}

export interface CommitRequest {
  changes: CatalogChange[];
  author: CommitAuthor;
  message: string;
}

interface Pending {
  request: CommitRequest;
  resolve: (commit: string) => void;
  reject: (error: unknown) => void;
}

interface ExclusiveTask {
  task: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type QueueItem = Pending | ExclusiveTask;

function isTask(item: QueueItem): item is ExclusiveTask {
  return 'task' in item;
}

const COMMITTER = { GIT_COMMITTER_NAME: 'VISOR daemon', GIT_COMMITTER_EMAIL: 'daemon@visor.invalid' };

/**
 * Turns catalogue writes into git commits, one at a time. Writes that queue up while a commit is
 * running go into the next commit together (same author only, so every commit names who did it),
 * which is what lets creates outrun the ~50 ms a commit costs on a 100,000-file index.
 *
 * Plumbing rather than `git commit`: porcelain re-stats the whole working tree (~160 ms at 100,000
 * files). The branch moves with a compare-and-swap update-ref; objects, refs and index are fsynced by
 * git (core.fsync) before a write is acknowledged. Working-tree files are derived from those.
 */
export class CatalogWriter {
  private readonly dir: string;
  private readonly git: GitRunner;
  private readonly maxBatch: number;
  private readonly queue: QueueItem[] = [];
  private draining = false;
  private head: string | undefined;
  /** Commits made, and how many writes went into them: batching made visible for /health and benches. */
  commits = 0;
  writes = 0;

  constructor(dir: string, git: GitRunner, options: { maxBatch?: number } = {}) {
    this.dir = dir;
    this.git = git;
    this.maxBatch = options.maxBatch ?? 256;
  }

  async open(): Promise<void> {
    this.head = await this.git.revParse('HEAD');
  }

  get headCommit(): string | undefined {
    return this.head;
  }

  commit(request: CommitRequest): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Runs work on the repository with no commit in flight and none starting (a fetch-and-merge from
   * an upstream); afterwards the branch is read again, so the next commit builds on what it made.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ task, resolve: resolve as (value: unknown) => void, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const first = this.queue[0]!;
        if (isTask(first)) {
          this.queue.shift();
          try {
            first.resolve(await first.task());
          } catch (error) {
            first.reject(error);
          } finally {
            this.head = await this.git.revParse('HEAD');
          }
          continue;
        }
        let n = 1;
        while (n < this.queue.length && n < this.maxBatch && !isTask(this.queue[n]!) && sameAuthor((this.queue[n] as Pending).request.author, first.request.author)) n++;
        const batch = this.queue.splice(0, n) as Pending[];
        try {
          const commit = await this.apply(batch.map((p) => p.request));
          for (const p of batch) p.resolve(commit);
        } catch (error) {
          for (const p of batch) p.reject(unavailable(`catalogue commit failed: ${(error as Error).message}`, error));
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private async apply(requests: CommitRequest[]): Promise<string> {
    // The last change to a path in the batch is the one that counts; distinct paths are written in parallel.
    const finalContent = new Map<string, string | null>();
    for (const request of requests) for (const change of request.changes) finalContent.set(change.path, change.content);
    const paths = new Set(finalContent.keys());
    try {
      await Promise.all([...finalContent].map(([path, content]) => this.writeWorkingFile({ path, content })));
      const list = [...paths];
      await this.git.run(['update-index', '--add', '--remove', '-z', '--stdin'], { input: `${list.join('\0')}\0` });
      const tree = (await this.git.run(['write-tree'])).stdout.trim();
      const author = requests[0]!.author;
      const message = requests.length === 1 ? requests[0]!.message : `${requests.length} changes by ${author.name}\n\n${requests.map((r) => `- ${r.message}`).join('\n')}`;
      const parentArgs = this.head ? ['-p', this.head] : [];
      const env = { ...COMMITTER, GIT_AUTHOR_NAME: author.name, GIT_AUTHOR_EMAIL: author.email };
      const commit = (await this.git.run(['commit-tree', tree, ...parentArgs, '-F', '-'], { input: message, env })).stdout.trim();
      // Compare-and-swap: fails rather than overwrite a branch someone else moved.
      await this.git.run(['update-ref', '-m', 'visor: commit', 'HEAD', commit, this.head ?? '']);
      this.head = commit;
      this.commits += 1;
      this.writes += requests.length;
      return commit;
    } catch (error) {
      await this.restore([...paths]);
      throw error;
    }
  }

  private async writeWorkingFile(change: CatalogChange): Promise<void> {
    const target = join(this.dir, change.path);
    if (change.content === null) {
      await unlink(target).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      return;
    }
    await mkdir(dirname(target), { recursive: true });
    // Temporary name (inside .git, out of the tree's way) then rename: no reader sees half a file.
    const temp = join(this.dir, '.git', `visor-${randomBytes(6).toString('hex')}.tmp`);
    await writeFile(temp, change.content, { flag: 'wx' });
    await rename(temp, target);
  }

  /** Puts the index and working tree of these paths back as they are at HEAD. */
  private async restore(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    try {
      if (this.head) await this.git.run(['reset', '-q', this.head, '--', ...paths]);
      const tracked = this.head ? (await this.git.run(['ls-tree', '-z', '--name-only', this.head, '--', ...paths])).stdout.split('\0').filter(Boolean) : [];
      if (tracked.length > 0) await this.git.run(['checkout', '-q', '--', ...tracked]);
      const trackedSet = new Set(tracked);
      for (const p of paths) {
        if (!trackedSet.has(p)) {
          await this.git.run(['rm', '-q', '--cached', '--ignore-unmatch', '--', p]).catch(() => undefined);
          await unlink(join(this.dir, p)).catch(() => undefined);
        }
      }
    } catch {
      // The commit already failed; a failed restore leaves the working tree to the start-up check.
    }
  }
}

function sameAuthor(a: CommitAuthor, b: CommitAuthor): boolean {
  return a.name === b.name && a.email === b.email;
}

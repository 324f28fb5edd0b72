import { mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { GitRunner } from '../git/GitRunner.ts';
import { GitFastImport } from '../git/GitFastImport.ts';
import { CommitSigner } from '../git/CommitSigner.ts';
import type { ObjectFormat } from '../git/LooseObjects.ts';
import type { SshPrivateKey } from '../trust/SshKeys.ts';
import { unavailable, type VisorError } from '../errors/VisorError.ts';

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
  /** Whether the task may move the branch, so that HEAD must be read again after it. */
  movesBranch: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

type QueueItem = Pending | ExclusiveTask;

function isTask(item: QueueItem): item is ExclusiveTask {
  return 'task' in item;
}

const COMMITTER = { name: 'VISOR daemon', email: 'daemon@visor.invalid' };

/** Quiet time after a commit before the index catches up, and the longest it may lag under load. */
const INDEX_SETTLE_MS = 250;
const INDEX_MAX_LAG_MS = 2000;
/** Commits (each a small pack) between background geometric repacks. */
const COMMITS_PER_REPACK = 64;
/** Present in the git dir while the index lags HEAD: a crash then is mended at the next open. */
const STALE_INDEX_MARK = 'visor-index-stale';

/**
 * Turns catalogue writes into git commits, one at a time. Writes that queue up while a commit is
 * running go into the next commit together (same author only, so every commit names who did it).
 *
 * Commits go through one long-lived `git fast-import` (GitFastImport): a process start costs 2-5 ms
 * of the event loop here and updating a 100,000-entry index rewrites ~10 MB, so neither happens per
 * commit. fast-import fsyncs the pack and moves the branch only forward before a write is
 * acknowledged; the branch is read back to confirm nothing else moved it. The index, which only
 * people and merges look at, catches up with HEAD once writes pause (and before any exclusive task);
 * working-tree files are written before each commit.
 */
export class CatalogWriter {
  private readonly dir: string;
  private readonly git: GitRunner;
  private readonly maxBatch: number;
  private readonly queue: QueueItem[] = [];
  private draining = false;
  private head: string | undefined;
  private gitDir = '';
  private format: ObjectFormat = 'sha1';
  private branch = 'refs/heads/main';
  private readonly fastImport: GitFastImport;
  private readonly signingKey: SshPrivateKey | undefined;
  private signer: CommitSigner | undefined;
  /** Paths committed since the index last caught up. */
  private readonly indexLag = new Set<string>();
  private indexLagSince = 0;
  private indexTimer: NodeJS.Timeout | undefined;
  private commitsSinceRepack = 0;
  private repacking: Promise<void> | undefined;
  /** Set by close(): a write arriving later (a request cut at shutdown marking its failure) is refused, not run. */
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Commits made, and how many writes went into them: batching made visible for /health and benches. */
  commits = 0;
  writes = 0;
  /** Told each commit's duration (the daemon's metrics), when set. */
  commitObserver: ((seconds: number) => void) | undefined;

  /** signingKey: every commit goes on the branch SSH-signed by it (the instance key), as `git commit -S` would sign it. */
  constructor(dir: string, git: GitRunner, options: { maxBatch?: number; signingKey?: SshPrivateKey } = {}) {
    this.dir = dir;
    this.git = git;
    this.maxBatch = options.maxBatch ?? 256;
    this.signingKey = options.signingKey;
    this.fastImport = new GitFastImport(dir);
  }

  /** Signs commits others made on this repository (a sync's merges), when this writer signs its own. */
  get commitSigner(): CommitSigner | undefined {
    return this.signer;
  }

  async open(): Promise<void> {
    const { gitDir, format, branch, head } = await this.repositoryState();
    this.gitDir = gitDir;
    this.format = format === 'sha256' ? 'sha256' : 'sha1';
    this.branch = branch;
    this.head = head;
    if (this.signingKey) this.signer = new CommitSigner(this.dir, this.gitDir, this.signingKey, this.format);
    if (existsSync(join(this.gitDir, STALE_INDEX_MARK))) {
      // Stopped before the index caught up: bring it to HEAD (a mixed reset keeps what is unchanged).
      await this.git.run(['reset', '-q']);
      // Another writer on this repository (a test's, a crashed start's successor) may have removed it first.
      await unlink(join(this.gitDir, STALE_INDEX_MARK)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
    }
  }

  /**
   * The git folder, object format, branch and the branch's commit. One git command where the branch
   * has a commit: a start opens two catalogues while their records load, and each spawn from the
   * growing heap costs the main thread 10-40 ms here (the fork copies its page tables). Three where it
   * has none yet (a new catalogue) or the answer is not the expected four lines.
   */
  private async repositoryState(): Promise<{ gitDir: string; format: string | undefined; branch: string; head: string | undefined }> {
    const lines = await this.git.run(['rev-parse', '--absolute-git-dir', '--show-object-format', 'HEAD', '--symbolic-full-name', 'HEAD']).then(
      (r) => r.stdout.trim().split('\n'),
      () => [],
    );
    if (lines.length === 4 && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(lines[2]!) && lines[3]!.startsWith('refs/')) {
      return { gitDir: lines[0]!, format: lines[1], head: lines[2], branch: lines[3]! };
    }
    const [gitDir, branch, head] = await Promise.all([this.git.run(['rev-parse', '--absolute-git-dir', '--show-object-format']), this.git.run(['symbolic-ref', 'HEAD']), this.git.revParse('HEAD')]);
    const [dirLine = '', format] = gitDir.stdout.trim().split('\n');
    return { gitDir: dirLine, format, branch: branch.stdout.trim(), head };
  }

  /** Lets the index catch up and ends fast-import and any repack; for a clean stop. Later writes are refused. */
  close(): Promise<void> {
    if (!this.closing) {
      // What is queued already goes through; the last item is this catch-up.
      const settled = this.exclusive(async () => undefined, false);
      this.closed = true;
      this.closing = settled.then(async () => {
        clearTimeout(this.indexTimer);
        await this.fastImport.close();
        await this.repacking;
        this.signer?.close();
      });
    }
    return this.closing;
  }

  /** The repository's git folder and object format, as read when the writer opened. */
  get repository(): { gitDir: string; format: ObjectFormat } {
    return { gitDir: this.gitDir, format: this.format };
  }

  get headCommit(): string | undefined {
    return this.head;
  }

  /** The branch commits go to (`main` unless the catalogue was made with another). */
  get branchName(): string {
    return this.branch.replace(/^refs\/heads\//, '');
  }

  commit(request: CommitRequest): Promise<string> {
    if (this.closed) return Promise.reject(unavailable('the catalogue is closed: the daemon is stopping; nothing was saved'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /**
   * Runs work on the repository with no commit in flight and none starting (a fetch-and-merge from
   * an upstream); afterwards the branch is read again, so the next commit builds on what it made.
   */
  exclusive<T>(task: () => Promise<T>, movesBranch = true): Promise<T> {
    if (this.closed) return Promise.reject(unavailable('the catalogue is closed: the daemon is stopping'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ task, movesBranch, resolve: resolve as (value: unknown) => void, reject });
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
            await this.catchUpIndex();
            first.resolve(await first.task());
          } catch (error) {
            first.reject(error);
          } finally {
            if (first.movesBranch) this.head = await this.git.revParse('HEAD');
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
          for (const p of batch) p.reject(commitFailure(error));
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
    const started = performance.now();
    try {
      await Promise.all([...finalContent].map(([path, content]) => this.writeWorkingFile({ path, content })));
      const author = requests[0]!.author;
      const message = requests.length === 1 ? requests[0]!.message : `${requests.length} changes by ${author.name}\n\n${requests.map((r) => `- ${r.message}`).join('\n')}`;
      await this.markIndexLagging();
      const request = { ref: this.branch, parent: this.head, author, committer: COMMITTER, message, files: [...finalContent].map(([path, content]) => ({ path, content })) };
      const signer = this.signer;
      const commit = await (signer ? this.fastImport.commitSigned(request, (unsigned) => signer.write(unsigned)) : this.fastImport.commit(request)).catch(async (error: Error & { commit?: string }) => {
        // fast-import complained (a warning, a lock): the commit stands only if the branch took it.
        if (error.commit !== undefined && (await this.git.revParse(this.branch)) === error.commit) return error.commit;
        throw error;
      });
      await this.confirmBranch(commit);
      this.head = commit;
      this.commits += 1;
      this.writes += requests.length;
      this.commitObserver?.((performance.now() - started) / 1000);
      for (const path of paths) this.indexLag.add(path);
      this.scheduleIndexCatchUp();
      await this.maybeRepack();
      return commit;
    } catch (error) {
      await this.restore([...paths]);
      throw error;
    }
  }

  /** Signs the commit a new catalogue was created with (made by `git commit`), so that every commit on the branch is signed. */
  async signCreationCommit(): Promise<void> {
    if (!this.signer || !this.head) return;
    // A replacement, not a descendant: fast-import would refuse the move, update-ref swaps it.
    const [signed] = await this.signer.sign([this.head]);
    await this.git.run(['update-ref', '-m', 'visor: signed creation commit', this.branch, signed!, this.head]);
    this.head = signed;
  }

  /** fast-import leaves a branch that moved elsewhere alone (with a warning): read it back. */
  private async confirmBranch(commit: string): Promise<void> {
    const loose = await readFile(join(this.gitDir, this.branch), 'utf8').then((t) => t.trim(), () => undefined);
    const now = loose === commit ? loose : await this.git.revParse(this.branch);
    if (now !== commit) {
      this.head = now;
      throw new Error(`the branch ${this.branch} moved outside the daemon (now ${now ?? 'missing'}); commit ${commit} was not published`);
    }
  }

  private async markIndexLagging(): Promise<void> {
    if (this.indexLagSince > 0) return;
    this.indexLagSince = Date.now();
    // Durable before HEAD moves past the index, so that a crash is noticed at the next open.
    const mark = await open(join(this.gitDir, STALE_INDEX_MARK), 'w');
    try {
      await mark.sync();
    } finally {
      await mark.close();
    }
  }

  private scheduleIndexCatchUp(): void {
    clearTimeout(this.indexTimer);
    const wait = Math.max(0, Math.min(INDEX_SETTLE_MS, this.indexLagSince + INDEX_MAX_LAG_MS - Date.now()));
    this.indexTimer = setTimeout(() => void this.exclusive(async () => undefined, false).catch(() => undefined), wait);
    this.indexTimer.unref();
  }

  /** Brings the index to HEAD for the paths committed since it last did; runs in the queue. */
  private async catchUpIndex(): Promise<void> {
    if (this.indexLagSince === 0) return;
    clearTimeout(this.indexTimer);
    const paths = [...this.indexLag];
    // --info-only: the blobs are already in fast-import's packs, so nothing is written. Without it,
    // a path hashed while a background repack swaps packs misses the object and writes a loose copy.
    if (paths.length > 0) await this.git.run(['update-index', '--add', '--remove', '--info-only', '-z', '--stdin'], { input: `${paths.join('\0')}\0` });
    this.indexLag.clear();
    this.indexLagSince = 0;
    await unlink(join(this.gitDir, STALE_INDEX_MARK)).catch(() => undefined);
  }

  /**
   * Every commit is a small pack; a geometric repack keeps their number logarithmic, off the queue,
   * and the commit-graph grows by a layer.
   * fast-import keeps its packs (.keep) while it runs, so it is ended first; the next commit starts
   * another, which also bounds what that process remembers.
   */
  private async maybeRepack(): Promise<void> {
    if (++this.commitsSinceRepack < COMMITS_PER_REPACK || this.repacking) return;
    this.commitsSinceRepack = 0;
    await this.fastImport.close();
    this.repacking = this.git
      .run(['repack', '-d', '-q', '--geometric=2'])
      // A commit-graph layer for the new commits, with changed-path filters: `git log -- <file>`
      // (an image's history) then skips the commits that did not touch it.
      .then(() => this.git.run(['commit-graph', 'write', '--reachable', '--changed-paths', '--split', '--max-new-filters=2048']))
      .then(() => undefined, () => undefined)
      .finally(() => {
        this.repacking = undefined;
      });
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

/** Why a commit failed, in words a caller can act on; nothing of the batch was saved. */
function commitFailure(error: unknown): VisorError {
  const text = error instanceof Error ? error.message : String(error);
  if ((error as NodeJS.ErrnoException).code === 'ENOSPC' || /no space left on device/i.test(text)) {
    return unavailable('the catalogue cannot be written: its disk is full (no space left on device); nothing was saved', error);
  }
  return unavailable(`catalogue commit failed: ${text}; nothing was saved`, error);
}

function sameAuthor(a: CommitAuthor, b: CommitAuthor): boolean {
  return a.name === b.name && a.email === b.email;
}

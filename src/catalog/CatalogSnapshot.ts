import { readFileSync, existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitRunner } from '../git/GitRunner.ts';
import type { ImageSchema } from './ImageSchema.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { IMAGES_DIR, idFromPath } from './CatalogLayout.ts';
import { checkRecordFile, type FileProblem, type ScanResult } from './CatalogScanner.ts';
import { dropScan, takeScan } from './ScanInFlight.ts';

const VERSION = 1;

interface SnapshotFile {
  version: number;
  head: string;
  records: ImageRecord[];
  problems: FileProblem[];
}

export interface LoadResult extends ScanResult {
  /** How the index was built: 'snapshot' (+ files changed since) or 'scan' (every file). */
  source: 'snapshot' | 'scan';
  /** Files read again on top of the snapshot. */
  reread: number;
}

/**
 * The daemon's index saved between runs, keyed by the commit it reflects. Loading it and re-reading
 * only the files git reports changed since (commits and uncommitted edits alike) costs time in
 * proportion to the change; a full scan of 100,000 files costs ~2.5 s. The snapshot lives in the
 * data directory, outside the catalogue, and any doubt about it (missing, unreadable, a commit git
 * no longer knows) falls back to the full scan.
 */
export class CatalogSnapshot {
  private readonly file: string;
  private readonly dir: string;
  private readonly git: GitRunner;
  private readonly schema: ImageSchema;

  constructor(file: string, catalogDir: string, git: GitRunner, schema: ImageSchema) {
    this.file = file;
    this.dir = catalogDir;
    this.git = git;
    this.schema = schema;
  }

  /** The records: from the snapshot and what changed since, or else a full scan (one begun early, if any). */
  async load(): Promise<LoadResult> {
    const snapshot = this.read();
    const head = await this.git.revParse('HEAD');
    if (snapshot && head) {
      const changed = await this.changedSince(snapshot.head).catch(() => undefined);
      if (changed) {
        dropScan(this.dir);
        return this.apply(snapshot, changed);
      }
    }
    return { ...(await takeScan(this.dir).finish(this.schema)), source: 'scan', reread: 0 };
  }

  async save(head: string | undefined, records: Iterable<ImageRecord>, problems: FileProblem[]): Promise<void> {
    if (!head) return;
    const body: SnapshotFile = { version: VERSION, head, records: [...records], problems };
    const temp = `${this.file}.tmp`;
    await writeFile(temp, JSON.stringify(body));
    await rename(temp, this.file);
  }

  private read(): SnapshotFile | undefined {
    if (!existsSync(this.file)) return undefined;
    try {
      const s = JSON.parse(readFileSync(this.file, 'utf8')) as SnapshotFile;
      return s.version === VERSION && typeof s.head === 'string' && Array.isArray(s.records) ? s : undefined;
    } catch {
      return undefined;
    }
  }

  /** Paths under images/ that differ between the snapshot's commit and the working tree. */
  private async changedSince(commit: string): Promise<Set<string>> {
    const committed = await this.git.run(['diff', '--name-only', '--no-renames', '-z', commit, 'HEAD', '--', IMAGES_DIR]);
    const working = await this.git.run(['status', '--porcelain', '-z', '--no-renames', '--untracked-files=all', '--', IMAGES_DIR]);
    const paths = new Set(committed.stdout.split('\0').filter(Boolean));
    for (const entry of working.stdout.split('\0')) if (entry.length > 3) paths.add(entry.slice(3));
    return paths;
  }

  private async apply(snapshot: SnapshotFile, changed: Set<string>): Promise<LoadResult> {
    const records = new Map(snapshot.records.map((r) => [r.id, r]));
    const problems = snapshot.problems.filter((p) => !changed.has(p.file));
    for (const path of changed) {
      const id = idFromPath(path);
      if (id) records.delete(id);
      const text = await readFile(join(this.dir, path), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const result = checkRecordFile(this.schema, path, text);
      problems.push(...result.problems);
      if (result.record) {
        // A file misplaced under another id must not shadow the real one; checkRecordFile refused it.
        records.set(result.record.id, result.record);
      }
    }
    return { records: [...records.values()], problems, source: 'snapshot', reread: changed.size };
  }
}

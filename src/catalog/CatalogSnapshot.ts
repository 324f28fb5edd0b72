import { closeSync, openSync, readSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitRunner } from '../git/GitRunner.ts';
import type { ImageSchema } from './ImageSchema.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { IMAGES_DIR, idFromPath } from './CatalogLayout.ts';
import { checkRecordFile, readRecordText, type FileProblem, type ScanResult } from './CatalogScanner.ts';
import { dropScan, takeScan } from './ScanInFlight.ts';
import { holdYoungGeneration } from '../heap/YoungGenerationHold.ts';
import { shareRepeatedStrings } from './SharedStrings.ts';

/**
 * A header line (version, head, record count, problems), then one record per line. Version 1 was
 * one JSON document: parsing it needed its whole text as one string (~70 MB at 100,000 images), which
 * stayed resident as garbage until the next full collection, past the daemon's ready. Version 2, the
 * same form, was written before a start moved private records out of the shared catalogue
 * (src/catalog/RecordPlacement.ts): its private snapshot could list records whose files only the
 * shared catalogue held, so it is not trusted.
 */
const VERSION = 3;
/** Bytes read at a time; a longer line grows the buffer. */
const READ_CHUNK = 1 << 20;
/** Records written at a time. */
const WRITE_BATCH = 1000;

interface SnapshotHeader {
  version: number;
  head: string;
  records: number;
  problems: FileProblem[];
}

interface SnapshotFile {
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
 * only the files git reports changed since costs time in
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

  /**
   * The records: from the snapshot and what changed since, or else a full scan (one begun early, if
   * any). `known.head`: the branch's commit when the caller has just read it (the catalogue's writer),
   * which spares a git command (each spawn from a loading daemon's heap costs its main thread).
   */
  async load(known?: { head: string | undefined }): Promise<LoadResult> {
    const release = holdYoungGeneration();
    try {
      return await this.loadHeld(known);
    } finally {
      release();
    }
  }

  private async loadHeld(known: { head: string | undefined } | undefined): Promise<LoadResult> {
    const snapshot = this.read();
    const head = known ? known.head : await this.git.revParse('HEAD');
    if (snapshot && head) {
      const changed = await this.changedSince(snapshot.head).catch(() => undefined);
      if (changed) {
        dropScan(this.dir);
        return this.apply(snapshot, changed);
      }
    }
    return { ...(await takeScan(this.dir).join(this.schema)), source: 'scan', reread: 0 };
  }

  async save(head: string | undefined, records: Iterable<ImageRecord>, problems: FileProblem[]): Promise<void> {
    if (!head) return;
    const list = [...records];
    const header: SnapshotHeader = { version: VERSION, head, records: list.length, problems };
    const temp = `${this.file}.tmp`;
    // Owner-only: it holds private records' metadata.
    const out = await open(temp, 'w', 0o600);
    try {
      // In batches, not one string of everything: the save runs as the daemon stops, beside its index.
      await out.write(`${JSON.stringify(header)}\n`);
      for (let i = 0; i < list.length; i += WRITE_BATCH) {
        await out.write(list.slice(i, i + WRITE_BATCH).map((r) => `${JSON.stringify(r)}\n`).join(''));
      }
    } finally {
      await out.close();
    }
    await rename(temp, this.file);
  }

  /** The snapshot, or undefined when there is none or any doubt about it (a truncated file included). */
  private read(): SnapshotFile | undefined {
    let fd: number;
    try {
      fd = openSync(this.file, 'r');
    } catch {
      return undefined;
    }
    try {
      const lines = fileLines(fd);
      const first = lines.next();
      if (first.done) return undefined;
      const header = JSON.parse(first.value) as Partial<SnapshotHeader>;
      if (header.version !== VERSION || typeof header.head !== 'string' || typeof header.records !== 'number' || !Array.isArray(header.problems)) return undefined;
      const records: ImageRecord[] = [];
      for (const line of lines) records.push(shareRepeatedStrings(JSON.parse(line) as ImageRecord));
      return records.length === header.records ? { head: header.head, records, problems: header.problems } : undefined;
    } catch {
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Paths under images/ that differ between the snapshot's commit and HEAD. The working tree is HEAD's
   * by now: a start sets uncommitted files aside first (CatalogRecovery), as they were never acknowledged.
   */
  private async changedSince(commit: string): Promise<Set<string>> {
    const committed = await this.git.run(['diff', '--name-only', '--no-renames', '-z', commit, 'HEAD', '--', IMAGES_DIR]);
    return new Set(committed.stdout.split('\0').filter(Boolean));
  }

  private async apply(snapshot: SnapshotFile, changed: Set<string>): Promise<LoadResult> {
    const problems = snapshot.problems.filter((p) => !changed.has(p.file));
    if (changed.size === 0) return { records: snapshot.records, problems, source: 'snapshot', reread: 0 };
    const changedIds = new Set<string>();
    for (const path of changed) {
      const id = idFromPath(path);
      if (id) changedIds.add(id);
    }
    const records = snapshot.records.filter((r) => !changedIds.has(r.id));
    for (const path of changed) {
      const text = await readRecordText(join(this.dir, path));
      if (text === undefined) continue;
      const result = checkRecordFile(this.schema, path, text);
      problems.push(...result.problems);
      // A file misplaced under another id must not shadow the real one; checkRecordFile refused it.
      if (result.record) records.push(result.record);
    }
    return { records, problems, source: 'snapshot', reread: changed.size };
  }
}

/** The lines of an open file, read a chunk at a time and each decoded on its own: no string of the whole file. */
function* fileLines(fd: number): Generator<string> {
  let buf = Buffer.allocUnsafe(READ_CHUNK);
  let start = 0;
  let end = 0;
  for (;;) {
    if (end === buf.length) {
      // Full: move the partial line to the front, or grow for a line longer than the buffer.
      if (start > 0) buf.copy(buf, 0, start, end);
      else buf = Buffer.concat([buf, Buffer.allocUnsafe(buf.length)]);
      end -= start;
      start = 0;
    }
    const n = readSync(fd, buf, end, buf.length - end, null);
    if (n === 0) break;
    const searchFrom = end;
    end += n;
    const filled = buf.subarray(0, end);
    for (let nl = filled.indexOf(10, searchFrom); nl !== -1; nl = filled.indexOf(10, start)) {
      yield buf.toString('utf8', start, nl);
      start = nl + 1;
    }
  }
  if (start < end) yield buf.toString('utf8', start, end);
}

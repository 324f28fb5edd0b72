import type { GitRunner } from '../git/GitRunner.ts';
import type { GitObjectReader } from '../git/GitObjectReader.ts';
import type { ImageSchema } from './ImageSchema.ts';
import { ALLOWED_PATHS_TEXT, catalogFileKind, ENDORSERS_FILE, ROOT_FILE, TRUST_SIGNATURES_FILE } from './CatalogLayout.ts';
import { MAX_STATEMENT_BYTES, statementFileProblems } from '../trust/StatementFile.ts';
import { EndorserList } from '../trust/EndorserList.ts';
import { checkRecordFile, type FileProblem } from './CatalogScanner.ts';
import { privateInPublic } from './CatalogVisibility.ts';

/** The largest record file accepted: real records are a few KiB; a padded one costs every clone. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Statements read from git at once (each at most MAX_STATEMENT_BYTES): enough to keep cat-file busy, bounded memory. */
const STATEMENT_READ_AHEAD = 256;

/** Regular files only: a symlink's target, a submodule or an executable is no record, and a checkout follows or runs them. */
const REGULAR_FILE = '100644';

/**
 * Checks every commit of a range, not only where it ends: Git history keeps every blob it was ever
 * given, so a private or invalid record added and removed again within one push or one sync would
 * reach every clone although the final tree is clean. Per file and per commit: the path is one the
 * catalogue allows, the file is a regular one, a record is at most MAX_RECORD_BYTES and valid on its
 * own, and (in a public catalogue) not private. Rules across records (a name unique in a series,
 * references) hold for the final tree, which the caller checks as before: an intermediate state
 * leaks nothing. One `git log` for the whole range; each blob is read once, however many commits
 * carry it.
 */
export async function historyProblems(git: GitRunner, reader: GitObjectReader, schema: ImageSchema, range: string, options: { publicOnly: boolean }): Promise<FileProblem[]> {
  // A merge's changes count too (against its first parent): a merge commit can add a file itself.
  const log = (await git.run(['log', '--raw', '--no-abbrev', '--no-renames', '--diff-merges=first-parent', '-z', '--diff-filter=AMT', '--format=%x00@%H', '--end-of-options', range])).stdout;
  const problems: FileProblem[] = [];
  const seen = new Set<string>();
  const statements: Array<{ path: string; blob: string; where: string }> = [];
  const sizes = await blobSizes(git, log);
  let commit = '';
  const fields = log.split('\0');
  for (let i = 0; i < fields.length; i++) {
    const field = fields[i]!.replace(/^\n+/, '');
    if (field.startsWith('@')) {
      commit = field.slice(1, 13);
      continue;
    }
    // A raw entry: ":<old mode> <new mode> <old blob> <new blob> <status>", then its path.
    const raw = /^:(\d{6}) (\d{6}) [0-9a-f]+ ([0-9a-f]+) [AMT]$/.exec(field);
    if (!raw) continue;
    const [, , mode, blob] = raw as unknown as [string, string, string, string];
    const path = fields[++i] ?? '';
    const where = `(commit ${commit})`;
    const kind = catalogFileKind(path);
    if (kind === undefined) {
      problems.push({ file: path, field: '(path)', rule: 'allowed-path', expected: ALLOWED_PATHS_TEXT, message: `${path} has no place in a catalogue ${where}` });
      continue;
    }
    if (mode !== REGULAR_FILE) {
      problems.push({ file: path, field: '(mode)', rule: 'file-mode', expected: `a regular file (mode ${REGULAR_FILE})`, message: `${path} is ${kindOf(mode)} ${where}` });
      continue;
    }
    // The trust roots' files are only sized here (judged on the final tree and along the rotations, src/trust/TrustRootChecks.ts).
    const trustRoots = path === ROOT_FILE || path === TRUST_SIGNATURES_FILE;
    const checked = kind === 'record' || kind === 'statement' || path === ENDORSERS_FILE || trustRoots;
    if (!checked || seen.has(`${blob}:${path}`)) continue;
    seen.add(`${blob}:${path}`);
    // Sized before it is read: a hostile blob of gigabytes is refused without being held in memory.
    const size = sizes.get(blob) ?? 0;
    const limit = kind === 'statement' ? MAX_STATEMENT_BYTES : MAX_RECORD_BYTES;
    if (size > limit) {
      problems.push({ file: path, field: '(file)', rule: 'max-size', expected: `at most ${limit} bytes`, message: `${path} is ${size} bytes ${where}` });
      continue;
    }
    if (trustRoots) continue;
    // A statement on its own: shape and signature (whether its key is listed and its facts are the
    // image's is judged on the final tree, where the list and the record are known). Read after the
    // walk, many at a time: a sync may bring thousands, and one git round trip each kept the check idle.
    if (kind === 'statement') {
      statements.push({ path, blob, where });
      continue;
    }
    const body = await reader.read(blob);
    if (body === undefined) continue;
    const text = body.toString('utf8');
    if (kind !== 'record') {
      for (const p of EndorserList.parse(text).problems) problems.push({ ...p, message: `${p.message} ${where}` });
      continue;
    }
    for (const p of checkRecordFile(schema, path, text).problems) problems.push({ ...p, message: `${p.message} ${where}` });
    if (options.publicOnly && isPrivate(text)) problems.push(privateInPublic(path, commit));
  }
  for (let from = 0; from < statements.length; from += STATEMENT_READ_AHEAD) {
    const batch = statements.slice(from, from + STATEMENT_READ_AHEAD);
    const bodies = await Promise.all(batch.map((s) => reader.read(s.blob)));
    batch.forEach((s, k) => {
      const body = bodies[k];
      if (body !== undefined) for (const p of statementFileProblems(s.path, body.toString('utf8'))) problems.push({ ...p, message: `${p.message} ${s.where}` });
    });
  }
  return problems;
}

/**
 * The final tree's problems, then those history adds: a problem the final tree shows already (same
 * file, field and rule) is not told twice.
 */
export function withHistory(final: FileProblem[], history: FileProblem[]): FileProblem[] {
  const told = new Set(final.map((p) => `${p.file}\0${p.field}\0${p.rule}`));
  return [...final, ...history.filter((p) => !told.has(`${p.file}\0${p.field}\0${p.rule}`))];
}

/** The size of every blob a raw log names, from one `git cat-file --batch-check`. */
async function blobSizes(git: GitRunner, log: string): Promise<Map<string, number>> {
  const blobs = new Set<string>();
  for (const m of log.matchAll(/:\d{6} \d{6} [0-9a-f]+ ([0-9a-f]+) [AMT]/g)) blobs.add(m[1]!);
  const sizes = new Map<string, number>();
  if (blobs.size === 0) return sizes;
  const out = (await git.run(['cat-file', '--batch-check=%(objectname) %(objectsize)'], { input: `${[...blobs].join('\n')}\n` })).stdout;
  for (const line of out.split('\n')) {
    const [oid, size] = line.split(' ');
    if (oid && size && /^\d+$/.test(size)) sizes.set(oid, Number(size));
  }
  return sizes;
}

/** Whether history found a file too large to read: the final-tree check, which reads files whole, is then skipped. */
export function oversized(problems: readonly FileProblem[]): boolean {
  return problems.some((p) => p.rule === 'max-size');
}

function isPrivate(text: string): boolean {
  try {
    return (JSON.parse(text) as { access?: unknown }).access === 'private';
  } catch {
    return false;
  }
}

function kindOf(mode: string): string {
  if (mode === '120000') return 'a symbolic link';
  if (mode === '160000') return 'a submodule';
  if (mode === '100755') return 'an executable file';
  return `of mode ${mode}`;
}

import { isDeepStrictEqual } from 'node:util';
import { GitRunner } from '../git/GitRunner.ts';
import { GitObjectReader } from '../git/GitObjectReader.ts';
import { recordPath } from './CatalogLayout.ts';
import type { CatalogRepository } from './CatalogRepositories.ts';
import type { FieldChange, HistoryEntry } from '../api/wire.ts';

export type { FieldChange, HistoryEntry };


function parse(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Fields that differ between two versions of a record, in the order they appear. */
export function fieldChanges(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined): FieldChange[] {
  const b = before ?? {};
  const a = after ?? {};
  const out: FieldChange[] = [];
  for (const field of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (isDeepStrictEqual(b[field], a[field])) continue;
    const change: FieldChange = { field };
    if (b[field] !== undefined) change.old = b[field];
    if (a[field] !== undefined) change.new = a[field];
    out.push(change);
  }
  return out;
}

/** An entry with the two versions it compares, kept while pairing the halves of a move. */
interface RawEntry extends HistoryEntry {
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

const MOVED = / \(moved to the (shared|private) catalogue\)$/;

async function historyIn(repo: CatalogRepository, id: string): Promise<RawEntry[]> {
  const path = recordPath(id);
  const git = new GitRunner(repo.dir);
  const log = (await git.run(['log', '--format=%x1e%H%x1f%an%x1f%aI%x1f%B', '--', path])).stdout;
  const lines = log.split('\x1e').filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const reader = new GitObjectReader(repo.dir);
  try {
    const entries: RawEntry[] = [];
    for (const line of lines) {
      const [commit = '', author = '', date = '', full = ''] = line.split('\x1f');
      const message = messageFor(full, id);
      const [after, before] = await Promise.all([reader.text(`${commit}:${path}`), reader.text(`${commit}^:${path}`)]);
      const a = parse(after);
      const b = parse(before);
      entries.push({ commit, catalog: repo.scope, author, date, message, change: b === undefined ? 'created' : a === undefined ? 'deleted' : 'updated', fields: fieldChanges(b, a), ...(b ? { before: b } : {}), ...(a ? { after: a } : {}) });
    }
    return entries;
  } finally {
    reader.close();
  }
}

/**
 * A commit's message as this image's history tells it: its subject, or for changes committed
 * together ("N changes by …", one line each below) the line about this image, so a failure's reason
 * (a refused upload's rule) is not lost in the batch. Lines about other images are never shown.
 */
function messageFor(full: string, id: string): string {
  const [subject = '', ...body] = full.trim().split('\n');
  if (!/^\d+ changes by /.test(subject)) return subject;
  // The line whose first id is this one: a later id in a line may be text a user chose (a refused file's descriptor, say).
  return body.find((l) => l.startsWith('- ') && /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(l)?.[0] === id)?.slice(2) ?? subject;
}

/**
 * The history as one caller may see it: versions they could not have read (while the image was
 * private to others, say) are left out, and each change is told against the last version they could
 * read. A private past made public later tells the public nothing of what it held.
 */
function asSeenBy(oldestFirst: RawEntry[], mayRead: (version: Record<string, unknown>) => boolean): RawEntry[] {
  const seen: RawEntry[] = [];
  let lastRead: Record<string, unknown> | undefined;
  for (const e of oldestFirst) {
    if (e.after === undefined) {
      // A deletion is news only to those who could read what was deleted.
      if (lastRead !== undefined) seen.push({ ...e, fields: fieldChanges(lastRead, undefined) });
      lastRead = undefined;
    } else if (mayRead(e.after)) {
      seen.push({ ...e, change: lastRead === undefined && e.change === 'created' ? 'created' : 'updated', fields: fieldChanges(lastRead, e.after) });
      lastRead = e.after;
    }
  }
  return seen;
}

/**
 * Every change of one image, newest first, read from the Git log of both catalogues (a record moves
 * between them when its access changes): who, when, and each field's old and new value, as far as
 * `mayRead` lets the caller read each version.
 */
export async function imageHistory(repos: CatalogRepository[], id: string, mayRead: (version: Record<string, unknown>) => boolean): Promise<HistoryEntry[]> {
  const all = (await Promise.all(repos.map((r) => historyIn(r, id)))).flat();
  // A change of access is two commits (added to one catalogue, then removed from the other): one entry.
  const merged: RawEntry[] = [];
  const consumed = new Set<RawEntry>();
  const pair = (departure: RawEntry, arrival: RawEntry | undefined) => {
    if (!arrival) return;
    consumed.add(departure).add(arrival);
    merged.push({ ...arrival, change: 'updated', fields: fieldChanges(departure.before, arrival.after) });
  };
  for (const e of all) {
    const moved = e.change === 'deleted' ? MOVED.exec(e.message) : null;
    if (!moved) continue;
    const original = e.message.replace(MOVED, '');
    pair(e, all.find((x) => !consumed.has(x) && x.catalog === moved[1] && x.change === 'created' && x.message === original && x.author === e.author));
  }
  // Leaving the shared catalogue, a move says only what a deletion says (removalMessage: the public
  // history must not tell that the image goes on, hidden). Its arrival is the other catalogue's
  // creation, by the same author, of the next version under the other access; a real deletion has none.
  for (const e of all) {
    if (consumed.has(e) || e.change !== 'deleted' || e.before === undefined) continue;
    const before = e.before;
    const arrivals = all.filter((x) => !consumed.has(x) && x.catalog !== e.catalog && x.change === 'created' && x.author === e.author && x.after?.['access'] !== before['access'] && String(x.after?.['updated_at']) > String(before['updated_at']));
    arrivals.sort((x, y) => (String(x.after?.['updated_at']) < String(y.after?.['updated_at']) ? -1 : 1));
    pair(e, arrivals[0]);
  }
  const entries = [...all.filter((e) => !consumed.has(e)), ...merged];
  // Git dates have whole seconds; the record's own updated_at (milliseconds) orders changes within one.
  const at = (e: RawEntry) => `${e.date}|${e.change === 'deleted' ? '~' : String(e.after?.['updated_at'] ?? '')}`;
  entries.sort((x, y) => (at(x) < at(y) ? -1 : at(x) > at(y) ? 1 : 0));
  return asSeenBy(entries, mayRead)
    .reverse()
    .map(({ before: _b, after: _a, ...entry }) => entry);
}

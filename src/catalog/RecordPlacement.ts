import type { ImageRecord } from '../api/ImageRecord.ts';
import type { FileProblem } from './CatalogScanner.ts';
import { recordPath } from './CatalogLayout.ts';
import { privateInPublic } from './CatalogVisibility.ts';
import { scopeOf, type CatalogScope } from './CatalogRepositories.ts';

/**
 * What a start does with records whose catalogue is not the one their access puts them in. Every
 * write, delete and index snapshot goes by access (scopeOf), so each record must be served from the
 * catalogue that holds its file under that rule, or not at all.
 */
export interface Placement {
  /** This instance's private records found in the shared catalogue only (written there before the private catalogue existed, or by hand): to move into the private one. */
  move: ImageRecord[];
  /** This instance's private records the shared catalogue holds beside the private one's copy (a move cut short): the shared copies, to remove. */
  leftBehind: ImageRecord[];
  /** Records not served, each reported as a file problem of its catalogue. */
  skipped: ReadonlySet<ImageRecord>;
  problems: Record<CatalogScope, FileProblem[]>;
}

/**
 * Sorts loaded records by where they belong. A private record in the shared catalogue is readable
 * by whoever may clone it: this instance's own moves to the private catalogue; another instance's is
 * not this one's to serve or move (a sync would have refused it), so it stays a file problem. A
 * public record in the private catalogue is skipped rather than published: nothing put there is
 * made public without someone asking.
 */
export function placeRecords(shared: readonly ImageRecord[], priv: readonly ImageRecord[], isHome: (r: ImageRecord) => boolean): Placement {
  const placement = { move: [] as ImageRecord[], leftBehind: [] as ImageRecord[], skipped: new Set<ImageRecord>(), problems: { shared: [] as FileProblem[], private: [] as FileProblem[] } };
  const inPrivate = new Set<string>();
  for (const r of priv) {
    if (scopeOf(r) === 'private') inPrivate.add(r.id);
    else {
      placement.skipped.add(r);
      placement.problems.private.push(publicInPrivate(recordPath(r.id)));
    }
  }
  for (const r of shared) {
    if (scopeOf(r) === 'shared') continue;
    if (!isHome(r)) {
      placement.skipped.add(r);
      placement.problems.shared.push(privateInPublic(recordPath(r.id)));
    } else if (inPrivate.has(r.id)) placement.leftBehind.push(r);
    else placement.move.push(r);
  }
  return placement;
}

function publicInPrivate(file: string): FileProblem {
  return { file, field: 'access', rule: 'private-catalogue', expected: 'private', message: 'the private catalogue, which nothing publishes, holds private images only: make the image private, or move its file to the shared catalogue to publish it' };
}

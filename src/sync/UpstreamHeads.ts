import { join } from 'node:path';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { UpstreamStateFile } from './UpstreamStateFile.ts';

/**
 * The head last taken from each upstream, so that a sync can tell an upstream that moves forward
 * from one whose branch went back (a rollback: old, perhaps withdrawn, records offered again) or
 * was rewritten (a fork). Either is refused and reported, never merged silently: TUF's rule that
 * metadata never goes back. Kept beside the catalogue's git data (`.git/visor/upstream-heads.json`).
 * When an upstream has really rewritten its history, an admin removes its line there.
 */
export class UpstreamHeads {
  private readonly state: UpstreamStateFile<string>;

  constructor(gitDir: string) {
    this.state = new UpstreamStateFile(join(gitDir, 'visor', 'upstream-heads.json'), 'upstream_heads');
  }

  last(upstream: string): Promise<string | undefined> {
    return this.state.get(upstream);
  }

  /** Records the head a sync took (or found already merged). */
  taken(upstream: string, head: string): Promise<void> {
    return this.state.set(upstream, head);
  }
}

/** The one refusal of a head that does not descend from the last one taken. */
export function rollbackProblem(upstream: string, branch: string, last: string, offered: string): FileProblem {
  return {
    file: '(history)',
    field: '(head)',
    rule: 'rollback',
    expected: `a history that contains ${last}, the head last taken from upstream ${upstream}`,
    message: `upstream ${upstream}'s branch ${branch} is at ${offered.slice(0, 12)}, which does not descend from ${last.slice(0, 12)}, the head last taken from it: a rollback or a rewritten history is refused, never merged (if the upstream really rewrote it, an admin removes its line from .git/visor/upstream-heads.json)`,
  };
}

import { join } from 'node:path';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
import { SerialQueue } from '../localstate/SerialQueue.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';

/**
 * The head last taken from each upstream, so that a sync can tell an upstream that moves forward
 * from one whose branch went back (a rollback: old, perhaps withdrawn, records offered again) or
 * was rewritten (a fork). Either is refused and reported, never merged silently: TUF's rule that
 * metadata never goes back. Kept beside the catalogue's git data (`.git/visor/upstream-heads.json`).
 * When an upstream has really rewritten its history, an admin removes its line there.
 */
export class UpstreamHeads {
  private readonly path: string;
  private readonly queue = new SerialQueue();
  private heads: Record<string, string> | undefined;

  constructor(gitDir: string) {
    this.path = join(gitDir, 'visor', 'upstream-heads.json');
  }

  async last(upstream: string): Promise<string | undefined> {
    this.heads ??= ((await readJsonState(this.path, 'upstream_heads')) as Record<string, string> | undefined) ?? {};
    return this.heads[upstream];
  }

  /** Records the head a sync took (or found already merged). */
  taken(upstream: string, head: string): Promise<void> {
    return this.queue.run(async () => {
      const next = { ...(this.heads ?? {}), [upstream]: head };
      await writeFileAtomic(this.path, `${JSON.stringify(next, null, 2)}\n`);
      this.heads = next;
    });
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

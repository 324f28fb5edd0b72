import { invalid } from '../errors/VisorError.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
import { SerialQueue } from '../localstate/SerialQueue.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';

/** Why and by whom an image is hidden on this instance. */
export interface HiddenImage {
  id: string;
  reason: string;
  by: string;
  at: string;
}

interface OverlayFile {
  version: 1;
  hidden: Record<string, Omit<HiddenImage, 'id'>>;
}

/**
 * This site's own decisions about images it follows, kept beside the catalogue instead of in it: an
 * upstream's record stays as the upstream wrote it (so its later changes keep arriving and both
 * catalogues agree), and the overlay says that this instance does not offer it. Kept in
 * `site-policy.json` in the data directory; reads from memory, each change written durably first.
 */
export class SiteOverlay {
  private readonly path: string;
  private readonly queue = new SerialQueue();
  private hiddenById: Map<string, Omit<HiddenImage, 'id'>>;
  private changes = 0;

  private constructor(path: string, hidden: Map<string, Omit<HiddenImage, 'id'>>) {
    this.path = path;
    this.hiddenById = hidden;
  }

  static async open(path: string): Promise<SiteOverlay> {
    const saved = (await readJsonState(path, 'site_policy')) as OverlayFile | undefined;
    if (saved !== undefined && (saved?.version !== 1 || typeof saved.hidden !== 'object' || saved.hidden === null)) {
      throw invalid(`${path} is damaged: version 1 expected; restore it from a backup`, [{ field: 'site_policy', rule: 'format', expected: 'a site policy written by visor', message: 'version 1 expected' }]);
    }
    return new SiteOverlay(path, new Map(Object.entries(saved?.hidden ?? {})));
  }

  /** Grows with every change that took effect. */
  get version(): number {
    return this.changes;
  }

  isHidden(id: string): boolean {
    return this.hiddenById.has(id);
  }

  hidden(): HiddenImage[] {
    return [...this.hiddenById].map(([id, h]) => ({ id, ...h })).sort((a, b) => a.id.localeCompare(b.id));
  }

  hide(entry: HiddenImage): Promise<HiddenImage> {
    const { id, ...rest } = entry;
    return this.update((m) => {
      m.set(id, rest);
      return entry;
    });
  }

  /** Offers the image again: what was decided, or undefined when it was not hidden. */
  unhide(id: string): Promise<HiddenImage | undefined> {
    return this.update((m) => {
      const entry = m.get(id);
      m.delete(id);
      return entry && { id, ...entry };
    });
  }

  private update<T>(mutate: (hidden: Map<string, Omit<HiddenImage, 'id'>>) => T): Promise<T> {
    return this.queue.run(async () => {
      const next = new Map(this.hiddenById);
      const result = mutate(next);
      const file: OverlayFile = { version: 1, hidden: Object.fromEntries(next) };
      await writeFileAtomic(this.path, `${JSON.stringify(file, null, 2)}\n`);
      this.hiddenById = next;
      this.changes++;
      return result;
    });
  }
}

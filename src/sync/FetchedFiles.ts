import { join } from 'node:path';
import { invalidField } from '../errors/VisorError.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
import { SerialQueue } from '../localstate/SerialQueue.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';

/** A file fetched from an upstream and kept in a local store, verified against the record it was fetched for. */
export interface FetchedFile {
  upstream: string;
  store: string;
  key: string;
  size: number;
  checksum: string;
  fetched_at: string;
}

interface StateFile {
  version: 1;
  /** Image id → the upstream whose sync brought its record. */
  origins: Record<string, string>;
  /** Image id → its fetched file. */
  files: Record<string, FetchedFile>;
}

/** The key a followed image's file is kept under: no upload, copy or link of a local image writes one (they use the id). */
export function fetchedKey(upstream: string, id: string): string {
  return `followed.${upstream}.${id}`;
}

/**
 * This instance's own facts about followed images, outside the catalogue: which upstream each one's
 * record came from, and which files have been fetched into which local store. The records themselves
 * are their upstream's (a follower must not rewrite them, and a location committed here would be
 * merged into every mirror of this catalogue), so what this instance holds of their bytes is
 * recorded here, in `<data_dir>/followed-files.json`, written whole and durably one change at a time.
 */
export class FetchedFiles {
  private readonly path: string;
  private readonly origins: Map<string, string>;
  private readonly files: Map<string, FetchedFile>;
  private readonly writes = new SerialQueue();

  private constructor(path: string, origins: Map<string, string>, files: Map<string, FetchedFile>) {
    this.path = path;
    this.origins = origins;
    this.files = files;
  }

  static async open(dataDir: string): Promise<FetchedFiles> {
    const path = join(dataDir, 'followed-files.json');
    const saved = (await readJsonState(path, 'data_dir')) as Partial<StateFile> | undefined;
    const origins = new Map<string, string>();
    const files = new Map<string, FetchedFile>();
    if (saved !== undefined) {
      const broken = () => invalidField('data_dir', 'state', 'a followed-files.json written by VISOR', `${path} is not a state file VISOR wrote; restore it from a backup or remove it (fetched files are then fetched again)`);
      if (typeof saved !== 'object' || saved === null || saved.version !== 1 || typeof saved.origins !== 'object' || typeof saved.files !== 'object') throw broken();
      for (const [id, upstream] of Object.entries(saved.origins ?? {})) {
        if (typeof upstream !== 'string') throw broken();
        origins.set(id, upstream);
      }
      for (const [id, f] of Object.entries(saved.files ?? {})) {
        // Only keys of the one shape this class writes: a hand-edited file must not point a download at another image's object.
        if (typeof f !== 'object' || f === null || typeof f.store !== 'string' || typeof f.upstream !== 'string' || f.key !== fetchedKey(f.upstream, id) || typeof f.size !== 'number' || typeof f.checksum !== 'string') throw broken();
        files.set(id, f);
      }
    }
    return new FetchedFiles(path, origins, files);
  }

  /** The upstream whose sync brought this image's record, if one did. */
  originOf(id: string): string | undefined {
    return this.origins.get(id);
  }

  fileOf(id: string): FetchedFile | undefined {
    return this.files.get(id);
  }

  /** Every fetched file, by image id. */
  entries(): IterableIterator<[string, FetchedFile]> {
    return this.files.entries();
  }

  /** After a sync of `upstream`: the records it brought (`present`) and those it removed (`gone`). */
  followed(upstream: string, present: readonly string[], gone: readonly string[]): Promise<void> {
    return this.change(() => {
      for (const id of present) this.origins.set(id, upstream);
      for (const id of gone) if (this.origins.get(id) === upstream) this.origins.delete(id);
    });
  }

  /** A file fetched and verified: later downloads read it here. */
  fetched(id: string, file: FetchedFile): Promise<void> {
    return this.change(() => this.files.set(id, file));
  }

  /** A fetched file no longer kept (its object is deleted by the caller, after this). */
  forget(id: string): Promise<void> {
    return this.change(() => this.files.delete(id));
  }

  private change(apply: () => void): Promise<void> {
    return this.writes.run(async () => {
      apply();
      const state: StateFile = { version: 1, origins: Object.fromEntries(this.origins), files: Object.fromEntries(this.files) };
      await writeFileAtomic(this.path, `${JSON.stringify(state)}\n`);
    });
  }
}

import { join } from 'node:path';
import { invalidField } from '../errors/VisorError.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
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

/** The key a followed image's file is kept under: no upload, copy or link of a local image writes one (they use the id). */
export function fetchedKey(upstream: string, id: string): string {
  return `followed.${upstream}.${id}`;
}

/**
 * One map of an instance-local state file, written whole and durably (writeFileAtomic) after each
 * change. Writes never overlap, and changes made while one runs share the next: a burst of changes
 * costs two writes, not one each.
 */
class PersistedMap<V> {
  readonly entries = new Map<string, V>();
  readonly path: string;
  private version = 0;
  private saved = 0;
  private writing: Promise<void> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  /** Applies the change now (readers see it at once) and resolves once a write holding it is durable. */
  async change(apply: (entries: Map<string, V>) => void): Promise<void> {
    apply(this.entries);
    const mine = ++this.version;
    while (this.saved < mine) {
      this.writing ??= this.write().finally(() => (this.writing = undefined));
      await this.writing;
    }
  }

  private async write(): Promise<void> {
    const version = this.version;
    await writeFileAtomic(this.path, `${JSON.stringify({ version: 1, entries: Object.fromEntries(this.entries) })}\n`);
    this.saved = version;
  }
}

/**
 * This instance's own facts about followed images, outside the catalogue: which upstream each one's
 * record came from (`<data_dir>/followed-origins.json`, written once per sync), and which files have
 * been fetched into which local store (`<data_dir>/followed-files.json`, written per fetch). The
 * records themselves are their upstream's: a follower must not rewrite them, and a location committed
 * here would be merged into every mirror of this catalogue.
 */
export class FetchedFiles {
  private readonly origins: PersistedMap<string>;
  private readonly files: PersistedMap<FetchedFile>;

  private constructor(origins: PersistedMap<string>, files: PersistedMap<FetchedFile>) {
    this.origins = origins;
    this.files = files;
  }

  static async open(dataDir: string): Promise<FetchedFiles> {
    const origins = new PersistedMap<string>(join(dataDir, 'followed-origins.json'));
    const files = new PersistedMap<FetchedFile>(join(dataDir, 'followed-files.json'));
    await load(origins, (v) => typeof v === 'string');
    // Only keys of the one shape this class writes: a hand-edited file must not point a download at another image's object.
    await load(files, (f, id) => isFetchedFile(f) && f.key === fetchedKey(f.upstream, id));
    return new FetchedFiles(origins, files);
  }

  /** The upstream whose sync brought this image's record, if one did. */
  originOf(id: string): string | undefined {
    return this.origins.entries.get(id);
  }

  fileOf(id: string): FetchedFile | undefined {
    return this.files.entries.get(id);
  }

  /** Every fetched file, by image id. */
  entries(): IterableIterator<[string, FetchedFile]> {
    return this.files.entries.entries();
  }

  /** After a sync of `upstream`: the records it brought (`present`) and those it removed (`gone`). */
  followed(upstream: string, present: readonly string[], gone: readonly string[]): Promise<void> {
    return this.origins.change((origins) => {
      for (const id of present) origins.set(id, upstream);
      for (const id of gone) if (origins.get(id) === upstream) origins.delete(id);
    });
  }

  /** A file fetched and verified: later downloads read it here. */
  fetched(id: string, file: FetchedFile): Promise<void> {
    return this.files.change((files) => files.set(id, file));
  }

  /** A fetched file no longer kept (its object is deleted by the caller, after this). */
  forget(id: string): Promise<void> {
    return this.files.change((files) => files.delete(id));
  }
}

function isFetchedFile(f: unknown): f is FetchedFile {
  const o = f as Partial<FetchedFile> | null;
  return typeof o === 'object' && o !== null && typeof o.upstream === 'string' && typeof o.store === 'string' && typeof o.key === 'string' && typeof o.size === 'number' && typeof o.checksum === 'string';
}

async function load<V>(map: PersistedMap<V>, valid: (value: unknown, id: string) => boolean): Promise<void> {
  const path = map.path;
  const saved = (await readJsonState(path, 'data_dir')) as { version?: unknown; entries?: unknown } | undefined;
  if (saved === undefined) return;
  const broken = () => invalidField('data_dir', 'state', 'a state file written by VISOR', `${path} is not a state file VISOR wrote; restore it from a backup or remove it (followed images' files are then fetched again)`);
  if (typeof saved !== 'object' || saved === null || saved.version !== 1 || typeof saved.entries !== 'object' || saved.entries === null) throw broken();
  for (const [id, value] of Object.entries(saved.entries)) {
    if (!valid(value, id)) throw broken();
    map.entries.set(id, value as V);
  }
}

import type { CatalogWriter, CommitAuthor } from './CatalogWriter.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import type { ImageSchema } from './ImageSchema.ts';
import { recordPath } from './CatalogLayout.ts';
import { serializeRecord } from './RecordFile.ts';

export type CatalogScope = 'shared' | 'private';

export interface CatalogRepository {
  scope: CatalogScope;
  dir: string;
  writer: CatalogWriter;
}

export function scopeOf(record: Pick<ImageRecord, 'access'>): CatalogScope {
  return record.access === 'private' ? 'private' : 'shared';
}

/**
 * The commit message of an image's removal. An image made private leaves the shared catalogue with
 * this same message, under its public name: its public history must not tell a deleted image from
 * one that goes on, hidden, in the private catalogue.
 */
export function removalMessage(record: Pick<ImageRecord, 'id' | 'name'>): string {
  return `Delete image ${record.id} ${JSON.stringify(record.name)}`;
}

/**
 * An instance's two catalogues. The shared one holds public images and is what upstreams, mirrors,
 * the Git endpoint and the static view see; private images live in a repository of their own that
 * nothing publishes. Git history keeps every blob it was ever given, so keeping private records out
 * of the shared repository is the only way they can never leak through it.
 */
export class CatalogRepositories {
  readonly shared: CatalogRepository;
  readonly private: CatalogRepository;
  private readonly schema: ImageSchema;

  constructor(shared: CatalogRepository, privateRepo: CatalogRepository, schema: ImageSchema) {
    this.shared = shared;
    this.private = privateRepo;
    this.schema = schema;
  }

  of(scope: CatalogScope): CatalogRepository {
    return scope === 'private' ? this.private : this.shared;
  }

  /** Commits a record where its access puts it; a change of access moves the file across (add first, then remove). */
  async save(record: ImageRecord, previous: ImageRecord | undefined, author: CommitAuthor, message: string): Promise<void> {
    const target = this.of(scopeOf(record));
    await target.writer.commit({ changes: [{ path: recordPath(record.id), content: serializeRecord(record, this.schema) }], author, message });
    if (previous && scopeOf(previous) !== target.scope) {
      const left = this.of(scopeOf(previous));
      const leaving = left.scope === 'shared' ? removalMessage(previous) : `${message} (moved to the ${target.scope} catalogue)`;
      await left.writer.commit({ changes: [{ path: recordPath(record.id), content: null }], author, message: leaving });
    }
  }

  /**
   * Private records found in the shared catalogue (src/catalog/RecordPlacement.ts): each moves as an
   * image made private does, added to the private catalogue first, then removed from the shared one
   * under removalMessage; copies the private catalogue holds already are only removed. Queued all at
   * once, so the writers commit them in batches.
   */
  async takeIntoPrivate(move: readonly ImageRecord[], leftBehind: readonly ImageRecord[], author: CommitAuthor): Promise<void> {
    await Promise.all(move.map((r) => this.private.writer.commit({ changes: [{ path: recordPath(r.id), content: serializeRecord(r, this.schema) }], author, message: `Move private image ${r.id} here from the shared catalogue` })));
    await Promise.all([...move, ...leftBehind].map((r) => this.shared.writer.commit({ changes: [{ path: recordPath(r.id), content: null }], author, message: removalMessage(r) })));
  }

  async remove(record: ImageRecord, author: CommitAuthor, message: string): Promise<void> {
    await this.of(scopeOf(record)).writer.commit({ changes: [{ path: recordPath(record.id), content: null }], author, message });
  }
}

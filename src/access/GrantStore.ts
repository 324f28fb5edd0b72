import { invalid } from '../errors/VisorError.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
import { SerialQueue } from '../localstate/SerialQueue.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';
import { PERMISSIONS, type Grantee, type ImageGrants, type Permission } from './Permission.ts';

interface GrantFile {
  version: 1;
  images: Record<string, ImageGrants>;
}

/**
 * Who was granted what on which image, kept by this instance in `grants.json` in its data directory,
 * keyed by image id — not in the catalogue. Grants name users and groups of this instance's account
 * store, which mean nothing (or someone else) on another instance the catalogue is merged with, and a
 * public catalogue should not publish who may read a private image. Reads come from memory; each
 * change is written durably before it takes effect.
 */
export class GrantStore {
  private readonly path: string;
  private readonly queue = new SerialQueue();
  private images: Map<string, ImageGrants>;
  private changes = 0;

  private constructor(path: string, images: Map<string, ImageGrants>) {
    this.path = path;
    this.images = images;
  }

  static async open(path: string): Promise<GrantStore> {
    const saved = (await readJsonState(path, 'grants')) as GrantFile | undefined;
    if (saved !== undefined && (saved?.version !== 1 || typeof saved.images !== 'object' || saved.images === null)) {
      throw invalid(`${path} is damaged: version 1 expected; restore it from a backup`, [{ field: 'grants', rule: 'format', expected: 'a grant file written by visor', message: 'version 1 expected' }]);
    }
    const images = new Map<string, ImageGrants>();
    for (const [id, g] of Object.entries(saved?.images ?? {})) {
      images.set(id, { users: onlyPermissions(g.users), groups: onlyPermissions(g.groups) });
    }
    return new GrantStore(path, images);
  }

  /** Grows with every change that took effect. */
  get version(): number {
    return this.changes;
  }

  of(image: string): ImageGrants | undefined {
    return this.images.get(image);
  }

  /** Grants (or, with permission undefined, revokes) one permission on one image. */
  set(image: string, grantee: Grantee, permission: Permission | undefined): Promise<ImageGrants> {
    return this.update((images) => {
      const current = images.get(image) ?? { users: {}, groups: {} };
      const next: ImageGrants = { users: { ...current.users }, groups: { ...current.groups } };
      const table = grantee.kind === 'user' ? next.users : next.groups;
      if (permission === undefined) delete table[grantee.name];
      else table[grantee.name] = permission;
      if (Object.keys(next.users).length === 0 && Object.keys(next.groups).length === 0) images.delete(image);
      else images.set(image, next);
      return next;
    });
  }

  /** Drops the grants of a deleted image. */
  forgetImage(image: string): Promise<void> {
    if (!this.images.has(image)) return Promise.resolve();
    return this.update((images) => void images.delete(image));
  }

  /** Drops every grant naming a removed user or group: a later account of that name must not inherit them. */
  forgetGrantee(grantee: Grantee): Promise<void> {
    return this.update((images) => {
      for (const [id, g] of images) {
        const table = grantee.kind === 'user' ? g.users : g.groups;
        if (!Object.hasOwn(table, grantee.name)) continue;
        const next: ImageGrants = { users: { ...g.users }, groups: { ...g.groups } };
        delete (grantee.kind === 'user' ? next.users : next.groups)[grantee.name];
        if (Object.keys(next.users).length === 0 && Object.keys(next.groups).length === 0) images.delete(id);
        else images.set(id, next);
      }
    });
  }

  private update<T>(mutate: (images: Map<string, ImageGrants>) => T): Promise<T> {
    return this.queue.run(async () => {
      // Entries are replaced, never edited in place, so a shallow copy is a private draft.
      const draft = new Map(this.images);
      const result = mutate(draft);
      const file: GrantFile = { version: 1, images: Object.fromEntries([...draft].sort(([a], [b]) => a.localeCompare(b))) };
      await writeFileAtomic(this.path, `${JSON.stringify(file)}\n`);
      this.images = draft;
      this.changes++;
      return result;
    });
  }
}

function onlyPermissions(table: unknown): Record<string, Permission> {
  const out: Record<string, Permission> = {};
  if (typeof table !== 'object' || table === null) return out;
  for (const [name, p] of Object.entries(table)) if (PERMISSIONS.includes(p as Permission)) out[name] = p as Permission;
  return out;
}

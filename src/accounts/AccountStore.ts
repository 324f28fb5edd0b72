import { invalid } from '../errors/VisorError.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
import { SerialQueue } from '../localstate/SerialQueue.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';
import type { AccountFile, StoredGroup, StoredUser } from './Account.ts';
import { ROLES } from './Account.ts';
import { KEY_ID } from './ApiKey.ts';
import { isSecretHash } from './SecretHash.ts';

/**
 * Users, groups and key hashes of this instance, in one owner-only JSON file in the data directory
 * (`accounts.json`), never in the catalogue: the catalogue may be public and is merged across
 * instances, credentials are neither. Reads come from memory; a change is applied to a copy, written
 * durably, and only then becomes the state requests see.
 */
export class AccountStore {
  private readonly path: string;
  private readonly queue = new SerialQueue();
  private state: AccountFile;
  private byKeyId = new Map<string, string>();
  private groupsByUser = new Map<string, string[]>();

  private constructor(path: string, state: AccountFile) {
    this.path = path;
    this.state = state;
    this.reindex();
  }

  static async open(path: string): Promise<AccountStore> {
    const saved = await readJsonState(path, 'accounts');
    return new AccountStore(path, saved === undefined ? { version: 1, users: {}, groups: {}, retired: [] } : checkAccountFile(saved, path));
  }

  get isEmpty(): boolean {
    return Object.keys(this.state.users).length === 0;
  }

  user(name: string): StoredUser | undefined {
    return Object.hasOwn(this.state.users, name) ? this.state.users[name] : undefined;
  }

  /** The user holding a key id, for authentication. */
  userOfKey(keyId: string): { name: string; user: StoredUser } | undefined {
    const name = this.byKeyId.get(keyId);
    const user = name === undefined ? undefined : this.user(name);
    return name !== undefined && user ? { name, user } : undefined;
  }

  group(name: string): StoredGroup | undefined {
    return Object.hasOwn(this.state.groups, name) ? this.state.groups[name] : undefined;
  }

  groupsOf(user: string): readonly string[] {
    return this.groupsByUser.get(user) ?? [];
  }

  users(): [string, StoredUser][] {
    return Object.entries(this.state.users).sort(([a], [b]) => a.localeCompare(b));
  }

  groups(): [string, StoredGroup][] {
    return Object.entries(this.state.groups).sort(([a], [b]) => a.localeCompare(b));
  }

  isRetired(name: string): boolean {
    return this.state.retired.includes(name);
  }

  /**
   * Applies a change: `mutate` edits a copy of the state (and may throw to refuse the change); the
   * copy is written, then swapped in. Changes run one at a time, in order.
   */
  change<T>(mutate: (draft: AccountFile) => T): Promise<T> {
    return this.queue.run(async () => {
      const draft = structuredClone(this.state);
      const result = mutate(draft);
      await writeFileAtomic(this.path, `${JSON.stringify(draft, null, 2)}\n`);
      this.state = draft;
      this.reindex();
      return result;
    });
  }

  private reindex(): void {
    this.byKeyId = new Map(Object.entries(this.state.users).map(([name, u]) => [u.key.id, name]));
    this.groupsByUser = new Map();
    for (const [group, g] of this.groups()) {
      for (const member of g.members) this.groupsByUser.set(member, [...(this.groupsByUser.get(member) ?? []), group]);
    }
  }
}

/** Refuses a damaged account file rather than start with accounts missing or wrong. */
function checkAccountFile(value: unknown, path: string): AccountFile {
  const bad = (what: string) => invalid(`${path} is damaged: ${what}; restore it from a backup`, [{ field: 'accounts', rule: 'format', expected: 'an account file written by visor', message: what }]);
  const file = value as Partial<AccountFile> | null;
  if (typeof file !== 'object' || file === null || file.version !== 1) throw bad('version 1 expected');
  if (typeof file.users !== 'object' || file.users === null || typeof file.groups !== 'object' || file.groups === null || !Array.isArray(file.retired)) throw bad('users, groups and retired expected');
  const keyIds = new Set<string>();
  for (const [name, u] of Object.entries(file.users)) {
    if (!ROLES.includes(u?.role) || typeof u.disabled !== 'boolean' || !KEY_ID.test(u.key?.id ?? '') || !isSecretHash(u.key?.hash ?? '')) throw bad(`user ${name}`);
    if (keyIds.has(u.key.id)) throw bad(`key ${u.key.id} held twice`);
    keyIds.add(u.key.id);
  }
  for (const [name, g] of Object.entries(file.groups)) {
    if (!Array.isArray(g?.members) || !g.members.every((m) => typeof m === 'string')) throw bad(`group ${name}`);
  }
  return file as AccountFile;
}

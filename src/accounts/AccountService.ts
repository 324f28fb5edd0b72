import { assertAdmin, assertSignedIn } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { conflict, forbidden, invalidField, notFound, type FieldProblem, invalid } from '../errors/VisorError.ts';
import type { Grantee } from '../api/wire.ts';
import type { AccountFile, GroupView, IssuedKey, Role, StoredUser, UserView } from './Account.ts';
import { ROLES } from './Account.ts';
import { assertAccountName } from './AccountName.ts';
import type { AccountStore } from './AccountStore.ts';
import { generateApiKey } from './ApiKey.ts';
import { hashSecret } from './SecretHash.ts';

export interface AccountServiceOptions {
  accounts: AccountStore;
  /** Drops the grants of a removed user or group, so a later account of that name starts with none. */
  forgetGrantee: (grantee: Grantee) => Promise<void>;
  /** Told when a key is replaced (the admin-token file follows its key). */
  onKeyRotated?: (oldKeyId: string, token: string) => Promise<void>;
  /** log2 of scrypt's N for new key hashes (auth.key_hash_cost). */
  hashCost: number;
}

/**
 * User and group management (the paper's section 5.2.2): delegated to admins; a user may see their own
 * account and rotate their own key. Secrets leave the daemon once, in the answer that creates them.
 */
export class AccountService {
  private readonly o: AccountServiceOptions;

  constructor(options: AccountServiceOptions) {
    this.o = options;
  }

  private get store(): AccountStore {
    return this.o.accounts;
  }

  /**
   * Who a request is when it stands for an account by configuration rather than by its key (the
   * Glance edge's any_token_account): as that account's key would make it, now; undefined when the
   * account is gone or disabled.
   */
  principalOfAccount(name: string): Principal | undefined {
    const user = this.store.user(name);
    if (!user || user.disabled) return undefined;
    return { name, admin: user.role === 'admin', ...(user.role === 'sync' ? { syncOnly: true } : {}), groups: this.store.groupsOf(name) };
  }

  whoami(who: Principal | undefined): UserView | { name: null; anonymous: true } {
    if (!who) return { name: null, anonymous: true };
    return this.view(who.name, this.requireUser(who.name));
  }

  listUsers(who: Principal | undefined): UserView[] {
    assertAdmin(who, 'list users');
    return this.store.users().map(([name, u]) => this.view(name, u));
  }

  showUser(name: string, who: Principal | undefined): UserView {
    this.assertSelfOrAdmin(who, name, 'see');
    return this.view(name, this.requireUser(name));
  }

  async addUser(body: unknown, who: Principal | undefined): Promise<IssuedKey> {
    assertAdmin(who, 'add users');
    const input = fields(body, { name: true, role: false, groups: false });
    const name = assertAccountName(input['name'], 'name');
    const role = input['role'] ?? 'user';
    if (!ROLES.includes(role as Role)) throw invalidField('role', 'enum', 'admin, user or sync');
    const groups = input['groups'] ?? [];
    if (!Array.isArray(groups)) throw invalidField('groups', 'type', 'an array of group names');
    for (const [i, g] of groups.entries()) if (!this.store.group(assertAccountName(g, `groups[${i}]`))) throw invalidField(`groups[${i}]`, 'exists', 'an existing group', `groups[${i}]: no group ${String(g)}`);
    const key = generateApiKey();
    const hash = await hashSecret(key.token, this.o.hashCost);
    const now = new Date().toISOString();
    await this.store.change((draft) => {
      if (Object.hasOwn(draft.users, name)) throw conflict(`user ${name} already exists`);
      if (draft.retired.includes(name)) throw conflict(`the name ${name} belonged to a removed account and is not given out again (its images still name it as owner)`);
      draft.users[name] = { role: role as Role, disabled: false, created_at: now, key: { id: key.id, hash, created_at: now } };
      for (const g of groups as string[]) draft.groups[g]?.members.push(name);
    });
    return { user: this.view(name, this.requireUser(name)), key: key.token };
  }

  /** Changes `disabled` (the only field that can change: a role is chosen at creation). */
  async updateUser(name: string, body: unknown, who: Principal | undefined): Promise<UserView> {
    assertAdmin(who, 'change users');
    const input = fields(body, { disabled: true });
    if (typeof input['disabled'] !== 'boolean') throw invalidField('disabled', 'type', 'true or false');
    const disabled = input['disabled'];
    await this.store.change((draft) => {
      const user = requireDraftUser(draft, name);
      if (disabled && user.role === 'admin' && !user.disabled) assertAnotherAdmin(draft, name, 'disable');
      user.disabled = disabled;
    });
    return this.view(name, this.requireUser(name));
  }

  async removeUser(name: string, who: Principal | undefined): Promise<UserView> {
    assertAdmin(who, 'remove users');
    const before = this.view(name, this.requireUser(name));
    await this.store.change((draft) => {
      const user = requireDraftUser(draft, name);
      if (user.role === 'admin' && !user.disabled) assertAnotherAdmin(draft, name, 'remove');
      delete draft.users[name];
      draft.retired.push(name);
      for (const g of Object.values(draft.groups)) g.members = g.members.filter((m) => m !== name);
    });
    await this.o.forgetGrantee({ kind: 'user', name });
    return before;
  }

  /** A new key replaces the old one at once; the old one stops working on the next request. */
  async rotateKey(name: string, who: Principal | undefined): Promise<IssuedKey> {
    this.assertSelfOrAdmin(who, name, 'rotate the key of');
    this.requireUser(name);
    const key = generateApiKey();
    const hash = await hashSecret(key.token, this.o.hashCost);
    const oldKeyId = await this.store.change((draft) => {
      const user = requireDraftUser(draft, name);
      const old = user.key.id;
      user.key = { id: key.id, hash, created_at: new Date().toISOString() };
      return old;
    });
    await this.o.onKeyRotated?.(oldKeyId, key.token);
    return { user: this.view(name, this.requireUser(name)), key: key.token };
  }

  listGroups(who: Principal | undefined): GroupView[] {
    assertAdmin(who, 'list groups');
    return this.store.groups().map(([name, g]) => ({ name, members: [...g.members].sort(), created_at: g.created_at }));
  }

  async createGroup(body: unknown, who: Principal | undefined): Promise<GroupView> {
    assertAdmin(who, 'create groups');
    const name = assertAccountName(fields(body, { name: true })['name'], 'name');
    await this.store.change((draft) => {
      if (Object.hasOwn(draft.groups, name)) throw conflict(`group ${name} already exists`);
      draft.groups[name] = { members: [], created_at: new Date().toISOString() };
    });
    return this.groupView(name);
  }

  async deleteGroup(name: string, who: Principal | undefined): Promise<GroupView> {
    assertAdmin(who, 'delete groups');
    const before = this.groupView(name);
    await this.store.change((draft) => {
      if (!Object.hasOwn(draft.groups, name)) throw notFound(`group ${name}`);
      delete draft.groups[name];
    });
    await this.o.forgetGrantee({ kind: 'group', name });
    return before;
  }

  async addMember(group: string, user: string, who: Principal | undefined): Promise<GroupView> {
    assertAdmin(who, 'change groups');
    await this.store.change((draft) => {
      const g = requireDraftGroup(draft, group);
      requireDraftUser(draft, user);
      if (!g.members.includes(user)) g.members.push(user);
    });
    return this.groupView(group);
  }

  async removeMember(group: string, user: string, who: Principal | undefined): Promise<GroupView> {
    assertAdmin(who, 'change groups');
    await this.store.change((draft) => {
      const g = requireDraftGroup(draft, group);
      if (!g.members.includes(user)) throw notFound(`member ${user} of group ${group}`);
      g.members = g.members.filter((m) => m !== user);
    });
    return this.groupView(group);
  }

  hasUser(name: string): boolean {
    return this.store.user(name) !== undefined;
  }

  hasGroup(name: string): boolean {
    return this.store.group(name) !== undefined;
  }

  private groupView(name: string): GroupView {
    const g = this.store.group(name);
    if (!g) throw notFound(`group ${name}`);
    return { name, members: [...g.members].sort(), created_at: g.created_at };
  }

  private view(name: string, u: StoredUser): UserView {
    return { name, role: u.role, disabled: u.disabled, groups: [...this.store.groupsOf(name)], key_id: u.key.id, key_created_at: u.key.created_at, created_at: u.created_at };
  }

  private requireUser(name: string): StoredUser {
    const u = this.store.user(name);
    if (!u) throw notFound(`user ${name}`);
    return u;
  }

  private assertSelfOrAdmin(who: Principal | undefined, name: string, what: string): void {
    const caller = assertSignedIn(who);
    if (!caller.admin && caller.name !== name) throw forbidden(`only admins may ${what} another user's account`);
  }
}

/** The body's fields, refusing anything not listed and anything required but missing. */
function fields(body: unknown, allowed: Record<string, boolean>): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidField('(body)', 'type', 'a JSON object');
  const problems: FieldProblem[] = [];
  for (const field of Object.keys(body)) {
    if (!Object.hasOwn(allowed, field)) problems.push({ field, rule: 'additionalProperties', expected: `only ${Object.keys(allowed).join(', ')}`, message: `${field}: not a field of this request` });
  }
  for (const [field, required] of Object.entries(allowed)) {
    if (required && !Object.hasOwn(body, field)) problems.push({ field, rule: 'required', expected: 'a value', message: `${field} is required` });
  }
  if (problems.length > 0) throw invalid(`invalid request: ${problems.map((p) => p.message).join('; ')}`, problems);
  return body as Record<string, unknown>;
}

function requireDraftUser(draft: AccountFile, name: string): StoredUser {
  if (!Object.hasOwn(draft.users, name)) throw notFound(`user ${name}`);
  return draft.users[name]!;
}

function requireDraftGroup(draft: AccountFile, name: string): AccountFile['groups'][string] {
  if (!Object.hasOwn(draft.groups, name)) throw notFound(`group ${name}`);
  return draft.groups[name]!;
}

/** An instance must never lock out its last admin. */
function assertAnotherAdmin(draft: AccountFile, name: string, what: string): void {
  const others = Object.entries(draft.users).filter(([n, u]) => n !== name && u.role === 'admin' && !u.disabled);
  if (others.length === 0) throw conflict(`cannot ${what} ${name}: it is the last enabled admin`);
}

import type { Role } from '../api/wire.ts';

export type { GroupView, IssuedKey, Role, UserView } from '../api/wire.ts';

export const ROLES: readonly Role[] = ['admin', 'user', 'sync'];

/** A user as the account store keeps it. The key's secret is never stored, only its slow hash. */
export interface StoredUser {
  role: Role;
  disabled: boolean;
  created_at: string;
  key: { id: string; hash: string; created_at: string };
}

export interface StoredGroup {
  members: string[];
  created_at: string;
}

/** The account file: users, groups, and names of removed users, which are never given out again. */
export interface AccountFile {
  version: 1;
  users: Record<string, StoredUser>;
  groups: Record<string, StoredGroup>;
  retired: string[];
}


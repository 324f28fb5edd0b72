/** Roles of the paper's user management: admins manage accounts and may do everything. */
export type Role = 'admin' | 'user';
export const ROLES: readonly Role[] = ['admin', 'user'];

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

/** A user as the API shows it: never a secret nor a hash. */
export interface UserView {
  name: string;
  role: Role;
  disabled: boolean;
  groups: string[];
  key_id: string;
  key_created_at: string;
  created_at: string;
}

export interface GroupView {
  name: string;
  members: string[];
  created_at: string;
}

/** A new or rotated key: shown once, in this answer only. */
export interface IssuedKey {
  user: UserView;
  key: string;
}

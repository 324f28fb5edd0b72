import Table from 'cli-table3';
import type { GroupView, IssuedKey, UserView } from '../../accounts/Account.ts';

/** Accounts, one row each. Keys appear only as their ids: secrets are never listed. */
export function userTable(users: readonly UserView[]): string {
  if (users.length === 0) return 'no users';
  const table = new Table({ head: ['NAME', 'ROLE', 'STATE', 'GROUPS', 'KEY ID', 'KEY CREATED'], style: { head: [], border: [] } });
  for (const u of users) table.push([u.name, u.role, u.disabled ? 'disabled' : 'active', u.groups.join(', '), u.key_id, u.key_created_at]);
  return table.toString();
}

export function userSheet(u: UserView): string {
  return [
    `name:        ${u.name}`,
    `role:        ${u.role}`,
    `state:       ${u.disabled ? 'disabled' : 'active'}`,
    `groups:      ${u.groups.join(', ')}`,
    `key id:      ${u.key_id} (created ${u.key_created_at})`,
    `created:     ${u.created_at}`,
  ].join('\n');
}

/** A new key, said loudly: it is never shown again. */
export function issuedKeyText(issued: IssuedKey, what: string): string {
  return `${what} ${issued.user.name} (${issued.user.role}), key id ${issued.user.key_id}\n` +
    `API key, shown once — store it now (VISOR_TOKEN, or "token" in ~/.config/visor/config.json, mode 0600):\n  ${issued.key}`;
}

export function groupTable(groups: readonly GroupView[]): string {
  if (groups.length === 0) return 'no groups';
  const table = new Table({ head: ['GROUP', 'MEMBERS', 'CREATED'], style: { head: [], border: [] } });
  for (const g of groups) table.push([g.name, g.members.join(', '), g.created_at]);
  return table.toString();
}

import type { TestDaemon } from './daemon.ts';
import { call } from './http.ts';
import { pollUntil } from './polling.ts';
import type { AuditEntry } from '../../src/tracking/AuditEntry.ts';
import { readAuditLog } from '../../src/tracking/readAuditLog.ts';

/** Creates an account through the API with the admin key and answers its key. */
export async function addUser(d: TestDaemon, name: string, options: { role?: 'admin' | 'user'; groups?: string[] } = {}): Promise<string> {
  const res = await call(d, d.token, 'POST', '/users', { name, ...options });
  if (res.status !== 201) throw new Error(`adding user ${name} failed: ${res.status} ${res.text}`);
  return (res.json as { key: string }).key;
}

export async function addGroup(d: TestDaemon, name: string, members: string[]): Promise<void> {
  const res = await call(d, d.token, 'POST', '/groups', { name });
  if (res.status !== 201) throw new Error(`creating group ${name} failed: ${res.status} ${res.text}`);
  for (const m of members) {
    const added = await call(d, d.token, 'PUT', `/groups/${name}/members/${m}`);
    if (added.status !== 200) throw new Error(`adding ${m} to ${name} failed: ${added.status} ${added.text}`);
  }
}

export async function grant(d: TestDaemon, key: string, id: string, kind: 'users' | 'groups', name: string, permission: 'checkout' | 'commit'): Promise<void> {
  const res = await call(d, key, 'PUT', `/images/${id}/grants/${kind}/${name}`, { permission });
  if (res.status !== 200) throw new Error(`grant failed: ${res.status} ${res.text}`);
}

/** Every audit entry written so far (after the daemon's pending lines are flushed). */
export async function auditEntries(d: TestDaemon): Promise<AuditEntry[]> {
  await d.daemon.core.accessControl.audit.flush();
  const out: AuditEntry[] = [];
  for await (const e of readAuditLog(d.daemon.config.audit.dir)) out.push(e);
  return out;
}

/**
 * The audit entries `select` picks, waiting up to 2 s until there are `count` of them: an entry is
 * appended when the server closes the response, which can be just after the client has read it.
 */
export function awaitAuditEntries(d: TestDaemon, select: (e: AuditEntry) => boolean, count = 1): Promise<AuditEntry[]> {
  return pollUntil(async () => (await auditEntries(d)).filter(select), (found) => found.length >= count);
}

/** The audit entries of the given request ids (X-Request-Id), waiting briefly for them. */
export async function auditEntriesOf(d: TestDaemon, requests: readonly string[]): Promise<Map<string, AuditEntry>> {
  const wanted = new Set(requests);
  const found = await awaitAuditEntries(d, (e) => wanted.has(e.request), wanted.size);
  return new Map(found.map((e) => [e.request, e]));
}

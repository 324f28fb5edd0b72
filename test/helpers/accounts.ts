import type { TestDaemon } from './daemon.ts';
import type { AuditEntry } from '../../src/tracking/AuditEntry.ts';
import { readAuditLog } from '../../src/tracking/readAuditLog.ts';

/** An answer read whole: status, headers and body text (JSON parsed when it is JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
  json: unknown;
}

/** One request with an optional API key; a body object is sent as JSON. */
export async function call(d: TestDaemon, key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, redirect: 'manual' };
  if (body instanceof Uint8Array) {
    init.body = body;
    (init.headers as Record<string, string>)['content-type'] ??= 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${d.url}${path}`, init);
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, bytes, json };
}

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

/** Registers an image as the key's owner; answers its id. */
export async function createImage(d: TestDaemon, key: string, fields: Record<string, unknown>): Promise<string> {
  const res = await call(d, key, 'POST', '/images', fields);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${res.text}`);
  return (res.json as { id: string }).id;
}

export async function grant(d: TestDaemon, key: string, id: string, kind: 'users' | 'groups', name: string, permission: 'checkout' | 'commit'): Promise<void> {
  const res = await call(d, key, 'PUT', `/images/${id}/grants/${kind}/${name}`, { permission });
  if (res.status !== 200) throw new Error(`grant failed: ${res.status} ${res.text}`);
}

/** Unique names per test file run: tests share one daemon. */
export function unique(prefix: string): string {
  return `${prefix}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Every audit entry written so far (after the daemon's pending lines are flushed). */
export async function auditEntries(d: TestDaemon): Promise<AuditEntry[]> {
  await d.daemon.core.accessControl.audit.flush();
  const out: AuditEntry[] = [];
  for await (const e of readAuditLog(d.daemon.config.audit.dir)) out.push(e);
  return out;
}

/**
 * The audit entries of the given request ids (X-Request-Id), waiting briefly for them: an entry is
 * appended when the server closes the response, which can be just after the client has read it.
 */
export async function auditEntriesOf(d: TestDaemon, requests: readonly string[]): Promise<Map<string, AuditEntry>> {
  const wanted = new Set(requests);
  for (let attempt = 0; ; attempt++) {
    const found = new Map((await auditEntries(d)).filter((e) => wanted.has(e.request)).map((e) => [e.request, e]));
    if (found.size === wanted.size || attempt >= 40) return found;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

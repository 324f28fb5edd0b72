/**
 * Requests to a daemon: `call` reads an answer whole, for tests that are not about streaming;
 * `authed` and `jsonRequest` are fetch's options, for tests that read the Response themselves.
 */
import { apiDocument } from './openApi.ts';

/** Where a daemon answers, and its admin token. */
export interface DaemonAddress {
  url: string;
  token: string;
}

/** An answer read whole: status, headers and body text (JSON parsed when it is JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
  json: unknown;
}

/** One request with an optional API key; a body object is sent as JSON. */
export async function call(d: Pick<DaemonAddress, 'url'>, key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const init: RequestInit = { method, headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers }, redirect: 'manual' };
  if (body instanceof Uint8Array) {
    init.body = body;
    (init.headers as Record<string, string>)['content-type'] ??= 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${d.url}${path}`, init);
  const answer = answerOf(res.status, res.headers, Buffer.from(await res.arrayBuffer()));
  await assertDocumented(method, path, answer);
  return answer;
}

/**
 * Every JSON answer a test receives from a route of the route table must match the daemon's API
 * document (GET /openapi.json): a test that meets an undocumented shape fails, so the document
 * cannot drift from what the daemon answers.
 */
async function assertDocumented(method: string, path: string, answer: Answer): Promise<void> {
  if (!(answer.headers.get('content-type') ?? '').startsWith('application/json') || answer.json === undefined) return;
  const api = await apiDocument();
  if (!api.describesJson(method, path, answer.status)) return;
  const problems = api.problems(method, path, answer.status, answer.json);
  if (problems.length > 0) throw new Error(`the answer does not match the API document (src/api/routeDocs.ts):\n${problems.join('\n')}\n${answer.text.slice(0, 2000)}`);
}

/** An answer from its parts, however it was received. */
export function answerOf(status: number, headers: Headers, bytes: Buffer): Answer {
  const text = bytes.toString();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, bytes, json };
}

/** fetch's options with a bearer token, for tests that read the Response itself (streams, headers). */
export function authed(token: string, init: RequestInit = {}): RequestInit {
  return { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string> | undefined) } };
}

/** fetch's options for a JSON body, with a bearer token when one is given. */
export function jsonRequest(token: string | undefined, method: string, body: unknown): RequestInit {
  return {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  };
}

/** One request to a daemon, read whole: the way tests that are not about streaming talk HTTP. */

/** An answer read whole: status, headers and body text (JSON parsed when it is JSON). */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: Buffer;
  json: unknown;
}

/** One request with an optional API key; a body object is sent as JSON. */
export async function call(d: { url: string }, key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
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

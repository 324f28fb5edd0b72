/**
 * The form of a daemon URL a stored key is filed under: scheme, host, port and path prefix
 * (`https://images.example.org/visor`), so that a key saved by `visor login` is sent to that daemon
 * and to no other: not to the same host over plain http, not on another port, not to another daemon
 * behind the same proxy under another prefix.
 */
export type ServerUrl = { url: string } | { problem: string };

export function serverUrl(text: string): ServerUrl {
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return { problem: `${text} is not a URL: expected one like https://images.example.org or http://127.0.0.1:4568` };
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return { problem: `${text} is not an http:// or https:// URL` };
  // A URL that carries a user name or password would put a second secret beside the key, and the
  // user name part is a classic way to dress up one host as another (https://good.example@evil.example).
  if (parsed.username !== '' || parsed.password !== '') return { problem: `${parsed.origin}: the URL must not carry a user name or password (write it as ${parsed.origin}${parsed.pathname === '/' ? '' : parsed.pathname})` };
  if (parsed.search !== '' || parsed.hash !== '') return { problem: `${text}: a daemon URL has no query or fragment (write it as ${parsed.origin}${parsed.pathname === '/' ? '' : parsed.pathname})` };
  // The URL parser has already lowered the scheme and host, dropped a default port and resolved dot segments.
  return { url: `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}` };
}

/**
 * The origin (scheme, host and port) of an http(s) URL: the unit a key is bound to, so that it is sent
 * to the daemon it belongs to and to nothing else. Undefined for anything that is not an http(s) URL.
 */
export function httpOrigin(url: string | URL): string | undefined {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return undefined;
  }
  return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : undefined;
}

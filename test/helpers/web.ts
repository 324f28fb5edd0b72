/**
 * The web catalogue as a browser uses it, over plain HTTP: pages read as text, sign-in through the
 * form (its double-submit cookie and token), and the session cookie and CSRF token a page carries.
 */
import type { DaemonAddress } from './http.ts';

export interface Page {
  status: number;
  headers: Headers;
  html: string;
}

/** A browser's cookie jar for one daemon, as a Cookie header. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  get header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }
}

/** GET (or another method) of a page as a browser asks for it, with the jar's cookies. */
export async function page(d: Pick<DaemonAddress, 'url'>, path: string, jar?: CookieJar, init: RequestInit = {}): Promise<Page> {
  const res = await fetch(`${d.url}${path}`, {
    redirect: 'manual',
    ...init,
    headers: { accept: 'text/html', ...(jar ? { cookie: jar.header } : {}), ...(init.headers as Record<string, string> | undefined) },
  });
  jar?.take(res.headers);
  return { status: res.status, headers: res.headers, html: await res.text() };
}

/** A form post as a browser sends it. */
export function postForm(d: Pick<DaemonAddress, 'url'>, path: string, fields: Record<string, string>, jar?: CookieJar): Promise<Page> {
  return page(d, path, jar, { method: 'POST', body: new URLSearchParams(fields).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

/** The value of the hidden `csrf` field of a page's form. */
export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]*)"/.exec(html);
  if (!m) throw new Error('the page has no csrf field');
  return m[1]!;
}

/** Signs in with an API key through the form; answers the jar holding the session and its CSRF token. */
export async function signIn(d: Pick<DaemonAddress, 'url'>, key: string): Promise<{ jar: CookieJar; csrf: string }> {
  const jar = new CookieJar();
  const form = await page(d, '/ui/sign-in', jar);
  const done = await postForm(d, '/ui/sign-in', { csrf: csrfOf(form.html), key }, jar);
  if (done.status !== 303) throw new Error(`signing in failed: ${done.status} ${done.html.slice(0, 300)}`);
  const after = await page(d, '/ui/', jar);
  return { jar, csrf: csrfOf(after.html) };
}

/**
 * The web catalogue behind a TLS proxy (server.public_url https://…, the daemon itself on plain HTTP):
 * its cookies are Secure all the same. Without the flag the browser would also send the session id
 * on any http:// request to the host (a link or redirect a network attacker plants), in clear, and
 * the session, which acts with the user's key, would be theirs. And they carry the __Host- and
 * __Secure- prefixes, which a browser takes only from this host over https: a session cookie planted
 * under the plain name (by a sibling host of the domain, or a forged http:// answer) signs no one in.
 */
import test from 'ava';
import { startTestDaemon } from './helpers/daemon.ts';
import { CookieJar, csrfOf, page } from './helpers/web.ts';

test('behind an https public URL both cookies are Secure, sign-in and sign-out work, and the session reads pages', async (t) => {
  const d = await startTestDaemon({ config: { server: { public_url: 'https://images.example.test' } } });
  try {
    const jar = new CookieJar();
    const form = await page(d, '/ui/sign-in', jar);
    const signInCookie = form.headers.getSetCookie().find((c) => c.startsWith('__Secure-visor_sign_in='));
    t.truthy(signInCookie);
    t.regex(signInCookie!, /;\s*secure/i);
    const res = await fetch(`${d.url}/ui/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header },
      body: new URLSearchParams({ csrf: csrfOf(form.html), key: d.token }).toString(),
    });
    t.is(res.status, 303);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('__Host-visor_session='));
    t.truthy(session);
    t.regex(session!, /;\s*secure/i);
    t.regex(session!, /;\s*httponly/i);
    t.regex(session!, /;\s*samesite=strict/i);
    jar.take(res.headers);
    // The proxy forwards the browser's cookie: the session is read as usual.
    const signedIn = await page(d, '/ui/', jar);
    t.is(signedIn.status, 200);
    t.regex(signedIn.html, /Sign out/);
    // The attacker's own session, planted under the name a browser lets anyone set: not read.
    const planted = await page(d, '/ui/', undefined, { headers: { cookie: `visor_session=${jar.get('__Host-visor_session')!}` } });
    t.is(planted.status, 200);
    t.regex(planted.html, /Sign in/);
    t.notRegex(planted.html, /Sign out/);
    const out = await fetch(`${d.url}/ui/sign-out`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header },
      body: new URLSearchParams({ csrf: csrfOf(signedIn.html) }).toString(),
    });
    t.is(out.status, 303);
    const cleared = out.headers.getSetCookie().find((c) => c.startsWith('__Host-visor_session='));
    t.regex(cleared!, /;\s*secure/i);
  } finally {
    await d.stop();
  }
});

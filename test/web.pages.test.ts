/**
 * The web catalogue over plain HTTP: pages show exactly what the API would show each caller (anonymous,
 * stranger, owner, grantee, admin), writes need the session's CSRF token, every page carries a strict
 * Content-Security-Policy, a hostile name comes out as text, and JSON clients still get Glance's
 * version document at `/`.
 */
import test from 'ava';
import { request } from 'node:https';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { call } from './helpers/http.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { CookieJar, csrfOf, page, postForm, signIn } from './helpers/web.ts';

let d: TestDaemon;
let ownerKey: string;
let privateId: string;
let privateName: string;
let publicId: string;
let publicName: string;
const owner = unique('owner');
const grantee = unique('grantee');
const stranger = unique('stranger');
const keys: Record<string, string> = {};

test.before(async () => {
  d = await startTestDaemon();
  ownerKey = await addUser(d, owner);
  keys['grantee'] = await addUser(d, grantee);
  keys['stranger'] = await addUser(d, stranger);
  privateName = unique('secret-image');
  publicName = unique('public-image');
  privateId = await createImage(d, ownerKey, { name: privateName, disk: 'raw', container_format: 'bare', access: 'private', series: 'webseries' });
  publicId = await createImage(d, ownerKey, { name: publicName, disk: 'raw', container_format: 'bare', access: 'public', series: 'webseries' });
  await uploadFile(d, ownerKey, privateId, Buffer.from('private bytes'));
  await uploadFile(d, ownerKey, publicId, Buffer.from('public bytes'));
  await grant(d, ownerKey, privateId, 'users', grantee, 'checkout');
});
test.after.always(async () => {
  await d?.stop();
});

const callers = (): [string, string | undefined, boolean][] => [
  ['anonymous', undefined, false],
  ['a stranger', keys['stranger'], false],
  ['the owner', ownerKey, true],
  ['a grantee', keys['grantee'], true],
  ['an admin', d.token, true],
];

test('a private image is on the pages of exactly those the API shows it to: owner, grantee and admin, never anonymous or a stranger', async (t) => {
  for (const [who, key, sees] of callers()) {
    const jar = key === undefined ? undefined : (await signIn(d, key)).jar;
    const browse = await page(d, '/ui/', jar);
    t.is(browse.status, 200, who);
    t.true(browse.html.includes(publicName), `${who} sees the public image listed`);
    t.is(browse.html.includes(privateName), sees, `${who} ${sees ? 'sees' : 'does not see'} the private image listed`);
    const search = await page(d, `/ui/?q=${encodeURIComponent(privateName.toUpperCase())}`, jar);
    t.is(search.html.includes(privateName), sees, `${who}: searching its name finds it only where it is visible`);
    const shown = await page(d, `/ui/images/${privateId}`, jar);
    t.is(shown.status, sees ? 200 : 404, `${who}: the private image's page`);
    t.is(shown.html.includes(privateName), sees, who);
    const series = await page(d, '/ui/series', jar);
    t.true(series.html.includes('webseries'), who);
    // The API agrees: the page is no wider than GET /images/:id.
    t.is((await call(d, key, 'GET', `/images/${privateId}`)).status, sees ? 200 : 404, `${who}: the API`);
    // The JSON API answers the session as the pages do, the hot read path's lists included.
    const listed = await page(d, `/images?q=${privateName}`, jar);
    t.is(listed.html.includes(privateId), sees, `${who}: GET /images with the session`);
    const download = await page(d, `/images/${privateId}/file`, jar);
    t.is(download.status, sees ? 200 : 404, `${who}: the download link`);
  }
});

test('an image page shows its facts, format verdict, history and copy-ready fetch commands; a private one names the token', async (t) => {
  const { jar } = await signIn(d, ownerKey);
  const p = await page(d, `/ui/images/${privateId}`, jar);
  t.is(p.status, 200);
  for (const text of [privateId, 'raw', 'webseries', 'History', 'created', `/images/${privateId}/file`]) t.true(p.html.includes(text), text);
  t.regex(p.html, /curl -fL -H &quot;Authorization: Bearer \$VISOR_TOKEN&quot; -o secret-image-[0-9a-f]+ http:\/\/127\.0\.0\.1:\d+\/images\/[0-9a-f-]+\/file/);
  t.regex(p.html, /visor --url http:\/\/127\.0\.0\.1:\d+ download [0-9a-f-]+ secret-image-/);
  t.regex(p.html, /openstack --os-image-url http:\/\/127\.0\.0\.1:\d+ image save --file secret-image-[0-9a-f]+ [0-9a-f-]+/);
  const pub = await page(d, `/ui/images/${publicId}`);
  t.false(pub.html.includes('VISOR_TOKEN'), 'a public image needs no token to fetch');
  t.false(pub.html.includes('id="file-form"'), 'an available image offers no upload');
  // An image without its file offers its upload to a signed-in viewer (the API decides who may), not to anonymous.
  const pending = await createImage(d, ownerKey, { name: unique('pending'), access: 'public' });
  t.true((await page(d, `/ui/images/${pending}`, jar)).html.includes('id="file-form"'));
  t.false((await page(d, `/ui/images/${pending}`)).html.includes('id="file-form"'));
});

test('browsing pages through the catalogue with the same markers as the API, keeping the search', async (t) => {
  const prefix = unique('paged');
  for (let i = 0; i < 3; i++) await createImage(d, ownerKey, { name: `${prefix}-${i}`, access: 'public' });
  const first = await page(d, `/ui/?q=${prefix}&limit=2&sort=name&dir=asc`);
  t.true(first.html.includes(`${prefix}-0`) && first.html.includes(`${prefix}-1`) && !first.html.includes(`${prefix}-2`));
  const next = /<a href="([^"]+)" rel="next">/.exec(first.html)?.[1]?.replaceAll('&amp;', '&');
  t.truthy(next);
  const second = await page(d, next!);
  t.true(second.html.includes(`${prefix}-2`) && !second.html.includes(`${prefix}-0`));
  t.false(second.html.includes('rel="next"'));
  const bad = await page(d, '/ui/?sort=secret');
  t.is(bad.status, 400, 'a query the API refuses is refused on the page, with its message');
  t.regex(bad.html, /cannot sort by/);
});

test('a hostile image name comes out as text on every page, never as markup', async (t) => {
  const name = `<script>alert("x")</script><img src=x onerror=alert(1)>'"&`;
  const id = await createImage(d, ownerKey, { name, access: 'public' });
  for (const path of ['/ui/', `/ui/images/${id}`, `/ui/?q=${encodeURIComponent('<script>')}`]) {
    const p = await page(d, path);
    t.is(p.status, 200, path);
    t.false(p.html.includes('<script>alert'), path);
    t.false(p.html.includes('<img src=x'), path);
    t.true(p.html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&#39;&quot;&amp;'), path);
  }
});

test('every page forbids inline script, framing and sniffing; the script and style are files of the catalogue', async (t) => {
  for (const path of ['/ui/', `/ui/images/${publicId}`, '/ui/series', '/ui/sign-in', '/ui/images/00000000-0000-0000-0000-000000000000']) {
    const p = await page(d, path);
    const csp = p.headers.get('content-security-policy') ?? '';
    t.regex(csp, /default-src 'self'/, path);
    t.regex(csp, /script-src 'self'(;|$)/, path);
    t.regex(csp, /frame-ancestors 'none'/, path);
    t.notRegex(csp, /unsafe-inline|unsafe-eval/, path);
    t.is(p.headers.get('x-content-type-options'), 'nosniff', path);
    t.is(p.headers.get('cache-control'), 'no-store', path);
    t.regex(p.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, path);
    // No inline script or style anywhere in the markup.
    t.notRegex(p.html, /<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=/i, path);
  }
  const script = await page(d, '/ui/assets/visor.js');
  t.is(script.status, 200);
  t.regex(script.headers.get('content-type') ?? '', /^text\/javascript/);
  t.is((await page(d, '/ui/assets/other.js')).status, 404);
});

test('signing in keeps the key on the server: the cookie is HttpOnly and SameSite=Strict, no page holds the key, and a wrong key is refused', async (t) => {
  const jar = new CookieJar();
  const form = await page(d, '/ui/sign-in', jar);
  const res = await fetch(`${d.url}/ui/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header },
    body: new URLSearchParams({ csrf: csrfOf(form.html), key: ownerKey }).toString(),
  });
  t.is(res.status, 303);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('visor_session='))!;
  t.regex(cookie, /httponly/i);
  t.regex(cookie, /samesite=strict/i);
  t.notRegex(cookie, /secure/i, 'plain HTTP: a Secure cookie would never come back');
  t.false(cookie.includes(ownerKey));
  jar.take(res.headers);
  for (const path of ['/ui/', `/ui/images/${privateId}`, '/ui/upload']) t.false((await page(d, path, jar)).html.includes(ownerKey), path);

  const wrongJar = new CookieJar();
  const again = await page(d, '/ui/sign-in', wrongJar);
  const wrong = await postForm(d, '/ui/sign-in', { csrf: csrfOf(again.html), key: 'visor_nope_nope' }, wrongJar);
  t.is(wrong.status, 401);
  t.regex(wrong.html, /Not signed in/);
  t.is(wrongJar.get('visor_session'), undefined);
});

test('writes need the session CSRF token: a cookie alone registers nothing, signs no one in and signs no one out', async (t) => {
  const { jar, csrf } = await signIn(d, ownerKey);
  const name = unique('csrf-probe');
  const post = (headers: Record<string, string>) =>
    fetch(`${d.url}/images`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: jar.header, ...headers }, body: JSON.stringify({ name }) });
  t.is((await post({})).status, 401, 'cookie without token');
  t.is((await post({ 'x-csrf-token': 'forged' })).status, 401, 'cookie with a wrong token');
  t.false((await call(d, ownerKey, 'GET', `/images?q=${name}`)).text.includes(name), 'nothing was registered');
  t.is((await post({ 'x-csrf-token': csrf })).status, 201, "the page's own token");

  // A cross-site form cannot show the token: sign-out without it is refused and the session lives on.
  t.is((await postForm(d, '/ui/sign-out', {}, jar)).status, 403);
  t.is((await postForm(d, '/ui/sign-out', { csrf: 'forged' }, jar)).status, 403);
  t.is((await page(d, `/ui/images/${privateId}`, jar)).status, 200);
  // Nor can it sign a browser in: the form's token must match the sign-in cookie only this site set.
  t.is((await postForm(d, '/ui/sign-in', { csrf: 'forged', key: keys['stranger']! })).status, 403);
});

test("signing out ends the session on the server: the old cookie no longer opens the private image, nor does a revoked key's session", async (t) => {
  const { jar, csrf } = await signIn(d, ownerKey);
  const stolen = jar.get('visor_session')!;
  const out = await postForm(d, '/ui/sign-out', { csrf }, jar);
  t.is(out.status, 303);
  t.is(jar.get('visor_session'), undefined, 'the browser is told to drop the cookie');
  const replay = new CookieJar();
  replay.set('visor_session', stolen);
  t.is((await page(d, `/ui/images/${privateId}`, replay)).status, 404, 'the old cookie is anonymous now');
  t.false((await page(d, '/ui/', replay)).html.includes(privateName));

  const name = unique('rotating');
  const key = await addUser(d, name);
  const id = await createImage(d, key, { name: unique('rotated-image'), access: 'private' });
  const session = await signIn(d, key);
  t.is((await page(d, `/ui/images/${id}`, session.jar)).status, 200);
  t.is((await call(d, d.token, 'POST', `/users/${name}/key`)).status, 200);
  t.is((await page(d, `/ui/images/${id}`, session.jar)).status, 404, "a rotated key's session ends with it");
});

test('GET / sends browsers to the catalogue and still answers JSON clients with the Glance version document', async (t) => {
  const json = await fetch(`${d.url}/`, { headers: { accept: 'application/json' }, redirect: 'manual' });
  t.is(json.status, 300);
  t.truthy(((await json.json()) as { versions?: unknown[] }).versions);
  const browser = await fetch(`${d.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' }, redirect: 'manual' });
  t.is(browser.status, 302);
  t.is(browser.headers.get('location'), '/ui/');
  const bare = await page(d, '/ui');
  t.is(bare.status, 302);
  t.is(bare.headers.get('location'), '/ui/');
});

test('the administration page is for admins only (401 anonymous, 403 others) and shows store health, accounts and the usage report as charts', async (t) => {
  t.is((await page(d, '/ui/admin')).status, 401);
  for (const key of [keys['stranger']!, ownerKey]) t.is((await page(d, '/ui/admin', (await signIn(d, key)).jar)).status, 403);
  // Downloads over time come from the usage report: whole-file downloads per UTC day, every day listed.
  t.is((await call(d, undefined, 'GET', `/images/${publicId}/file`)).status, 200);
  const report = (await call(d, d.token, 'GET', '/report?activity_days=3')).json as { activity: { downloads_by_day: { day: string; downloads: number }[] } };
  const days = report.activity.downloads_by_day;
  t.is(days.length, 3);
  t.is(days.at(-1)!.day, new Date().toISOString().slice(0, 10));
  t.true(days.at(-1)!.downloads >= 1);
  const admin = await signIn(d, d.token);
  const p = await page(d, '/ui/admin', admin.jar);
  t.is(p.status, 200);
  for (const text of ['Health: <span class="good">ok</span>', owner, grantee, 'Storage per store', 'Most downloaded images', 'Downloads per day, last 30 days']) t.true(p.html.includes(text), text);
  t.regex(p.html, /<svg [^>]*role="img"/);
  t.notRegex(p.html, /\sstyle=|<script(?![^>]*\bsrc=)/);
  t.true((await page(d, '/ui/', admin.jar)).html.includes('href="/ui/admin"'), 'admins get a link to it');
  t.false((await page(d, '/ui/', (await signIn(d, ownerKey)).jar)).html.includes('href="/ui/admin"'));
});

test("an image's grants are on its page for its owner and admins, not for a grantee or anyone else", async (t) => {
  for (const [who, key, sees] of [['the owner', ownerKey, true], ['an admin', d.token, true], ['a grantee', keys['grantee']!, false]] as const) {
    const p = await page(d, `/ui/images/${privateId}`, (await signIn(d, key)).jar);
    t.is(p.status, 200, who);
    t.is(p.html.includes('Shared with'), sees, who);
    t.is(p.html.includes(`user ${grantee}`), sees, who);
  }
});

test('the latest of each series is the newest image each caller may download: a newer private upload is the owner’s latest, not anyone else’s', async (t) => {
  const series = unique('webfollow');
  const older = await createImage(d, ownerKey, { name: unique('older'), access: 'public', series });
  await uploadFile(d, ownerKey, older, Buffer.from('older'));
  const newer = await createImage(d, ownerKey, { name: unique('newer'), access: 'private', series });
  await uploadFile(d, ownerKey, newer, Buffer.from('newer'));
  const rowOf = (html: string) => new RegExp(`<td>${series}</td>[\\s\\S]*?href="/ui/images/([0-9a-f-]+)"`).exec(html)?.[1];
  t.is(rowOf((await page(d, '/ui/series')).html), older, 'anonymous');
  t.is(rowOf((await page(d, '/ui/series', (await signIn(d, keys['stranger']!)).jar)).html), older, 'a stranger');
  const ownerJar = (await signIn(d, ownerKey)).jar;
  const mine = (await page(d, '/ui/series', ownerJar)).html;
  t.is(rowOf(mine), newer, 'the owner');
  // The row names the owner as this instance does, and its file link follows the series to the bytes.
  t.regex(mine, new RegExp(`<td>${series}</td>\\s*<td>${owner}</td>`));
  const file = new RegExp(`href="(/series/${series}/latest/file\\?owner=[^"]+)"`).exec(mine)?.[1]?.replaceAll('&amp;', '&');
  t.truthy(file);
  const followed = await fetch(`${d.url}${file!}`, { headers: { cookie: ownerJar.header } });
  t.is(followed.status, 200);
  t.is(await followed.text(), 'newer');
});

test('over TLS both cookies are Secure: a session id never travels in clear', async (t) => {
  const tls = await startTestDaemon({ config: { server: { tls_cert: resolve('test/fixtures/tls/cert.pem'), tls_key: resolve('test/fixtures/tls/key.pem') } } });
  try {
    const ca = await readFile(resolve('test/fixtures/tls/cert.pem'));
    const send = (method: string, path: string, headers: Record<string, string>, body = '') =>
      new Promise<{ status: number; cookies: string[]; text: string }>((done, fail) => {
        const req = request(`${tls.url}${path}`, { method, ca, headers }, (res) => {
          let text = '';
          res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => done({ status: res.statusCode!, cookies: res.headers['set-cookie'] ?? [], text }));
        });
        req.on('error', fail);
        req.end(body);
      });
    const form = await send('GET', '/ui/sign-in', { accept: 'text/html' });
    const signInCookie = form.cookies.find((c) => c.startsWith('__Secure-visor_sign_in='))!;
    t.regex(signInCookie, /;\s*secure/i);
    const body = new URLSearchParams({ csrf: csrfOf(form.text), key: tls.token }).toString();
    const done = await send('POST', '/ui/sign-in', { 'content-type': 'application/x-www-form-urlencoded', cookie: signInCookie.split(';')[0]! }, body);
    t.is(done.status, 303);
    const session = done.cookies.find((c) => c.startsWith('__Host-visor_session='))!;
    t.regex(session, /;\s*secure/i);
    t.regex(session, /;\s*httponly/i);
    t.regex(session, /;\s*samesite=strict/i);
  } finally {
    await tls.stop();
  }
});

import type { Principal } from '../../auth/Principal.ts';
import { html, type SafeHtml } from '../Html.ts';

/** Who is looking at a page, and the token their forms carry back (signed in only). */
export interface Viewer {
  who: Principal | undefined;
  csrf: string | undefined;
}

/** The paths of the web catalogue's pages, for links (the route table has their patterns). */
export const WEB_PATHS = {
  browse: '/ui/',
  series: '/ui/series',
  upload: '/ui/upload',
  admin: '/ui/admin',
  signIn: '/ui/sign-in',
  signOut: '/ui/sign-out',
  image: (id: string) => `/ui/images/${encodeURIComponent(id)}`,
  file: (id: string) => `/images/${encodeURIComponent(id)}/file`,
} as const;

/** The hidden field every form of a signed-in page carries (checked on the server, daemon/webSession.ts). */
export function csrfField(viewer: Viewer): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${viewer.csrf ?? ''}">`;
}

/** Every page's frame: the navigation, who is signed in, and the one script and style sheet. */
export function layout(title: string, viewer: Viewer, body: SafeHtml): SafeHtml {
  const account = viewer.who
    ? html`<span>Signed in as <strong>${viewer.who.name}</strong>${viewer.who.admin ? ' (admin)' : ''}</span>
        <form method="post" action="${WEB_PATHS.signOut}">${csrfField(viewer)}<button type="submit">Sign out</button></form>`
    : html`<a href="${WEB_PATHS.signIn}">Sign in</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · VISOR</title>
<link rel="stylesheet" href="/ui/assets/visor.css">
<script src="/ui/assets/visor.js" defer></script>
</head>
<body>
<header>
  <a class="brand" href="${WEB_PATHS.browse}">VISOR</a>
  <nav>
    <a href="${WEB_PATHS.browse}">Images</a>
    <a href="${WEB_PATHS.series}">Latest of each series</a>
    ${viewer.who && html`<a href="${WEB_PATHS.upload}">Upload</a>`}
    ${viewer.who?.admin && html`<a href="${WEB_PATHS.admin}">Administration</a>`}
  </nav>
  ${account}
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Bytes for people: 1.5 GiB. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]!}`;
}

/** A timestamp as a short UTC date and time. */
export function when(iso: string | undefined): string {
  return iso === undefined ? '' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC');
}

import { html, type SafeHtml } from '../Html.ts';
import { layout, WEB_PATHS, type Viewer } from './layout.ts';

/**
 * The sign-in form. `token` is the double-submit value also set in the sign-in cookie: a form posted
 * from another site cannot carry it, so it cannot sign a browser into someone else's account.
 */
export function signInPage(viewer: Viewer, token: string, problem?: string): SafeHtml {
  return layout(
    'Sign in',
    viewer,
    html`<h1>Sign in</h1>
  <p>Sign in with your VISOR API key (<code>visor_…</code>; an admin creates it with <code>visor user add</code>). The key stays on the server: this browser keeps only a session cookie, until you sign out.</p>
  ${problem !== undefined && html`<p class="error" role="alert">${problem}</p>`}
  <form class="stack" method="post" action="${WEB_PATHS.signIn}">
    <input type="hidden" name="csrf" value="${token}">
    <label>API key<input type="password" name="key" autocomplete="current-password" required spellcheck="false"></label>
    <button type="submit">Sign in</button>
  </form>`,
  );
}

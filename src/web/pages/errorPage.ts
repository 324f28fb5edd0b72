import { html, type SafeHtml } from '../Html.ts';
import { layout, type Viewer } from './layout.ts';

/** A refused or failed page: the status and the core's message, in the catalogue's frame. */
export function errorPage(viewer: Viewer, status: number, message: string): SafeHtml {
  const title = status === 404 ? 'Not found' : status === 401 ? 'Sign in needed' : status === 403 ? 'Not allowed' : status >= 500 ? 'Something went wrong' : 'Cannot show this';
  return layout(title, viewer, html`<h1>${title}</h1><p class="error">${message}</p><p><a href="/ui/">Back to the images</a></p>`);
}

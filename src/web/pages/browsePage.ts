import type { ImageRecord } from '../../api/ImageRecord.ts';
import { html, type SafeHtml } from '../Html.ts';
import { bytes, layout, when, WEB_PATHS, type Viewer } from './layout.ts';

/** The filters the browse form offers, each an image field the API's list query takes. */
export const BROWSE_FILTERS = ['owner', 'access', 'status', 'disk', 'architecture', 'series'] as const;
/** The orders the browse form offers (the API's list takes more). */
export const BROWSE_SORTS = ['created_at', 'updated_at', 'name', 'size', 'owner', 'series'] as const;

export interface BrowseView {
  /** The form's values as the request sent them (blank ones dropped). */
  form: Readonly<Record<string, string>>;
  /** Choices of the enumerated filters, from the image schema. */
  choices: Readonly<Record<string, readonly string[]>>;
  images: readonly ImageRecord[];
  /** The owner as this instance names them (ImageService.ownerName). */
  ownerOf: (r: ImageRecord) => string;
  /** The next page's link, when there is one. */
  next?: string;
  /** The first page's link (same search), when this is a later page. */
  first?: string;
  /** Why the query was refused (the API's 400 message), shown above an empty list. */
  problem?: string;
}

function select(name: string, label: string, options: readonly string[], current: string | undefined, blank?: string): SafeHtml {
  return html`<label>${label}<select name="${name}">
    ${blank !== undefined && html`<option value="">${blank}</option>`}
    ${options.map((o) => html`<option value="${o}"${o === current ? html` selected` : ''}>${o}</option>`)}
  </select></label>`;
}

function text(name: string, label: string, current: string | undefined, placeholder = ''): SafeHtml {
  return html`<label>${label}<input type="text" name="${name}" value="${current ?? ''}" placeholder="${placeholder}"></label>`;
}

/** The image list: search, filters and order in a GET form, a page of rows, a link to the next page. */
export function browsePage(viewer: Viewer, v: BrowseView): SafeHtml {
  const f = v.form;
  const form = html`<form class="filters" method="get" action="${WEB_PATHS.browse}" role="search">
    <label>Search<input type="search" name="q" value="${f['q'] ?? ''}" placeholder="name or id" autofocus></label>
    ${text('owner', 'Owner', f['owner'])}
    ${select('access', 'Access', v.choices['access'] ?? [], f['access'], 'any')}
    ${select('status', 'Status', v.choices['status'] ?? [], f['status'], 'any')}
    ${select('disk', 'Disk format', v.choices['disk'] ?? [], f['disk'], 'any')}
    ${select('architecture', 'Architecture', v.choices['architecture'] ?? [], f['architecture'], 'any')}
    ${text('series', 'Series', f['series'])}
    ${select('sort', 'Sort by', BROWSE_SORTS, f['sort'] ?? 'created_at')}
    ${select('dir', 'Order', ['desc', 'asc'], f['dir'] ?? 'desc')}
    <button type="submit">Search</button>
  </form>`;
  const rows = v.images.map(
    (r) => html`<tr>
      <td><a href="${WEB_PATHS.image(r.id)}">${r.name}</a>${r.deprecation ? html` <span class="badge warn">deprecated</span>` : ''}</td>
      <td>${v.ownerOf(r)}</td>
      <td>${r.access === 'private' ? html`<span class="badge">private</span>` : 'public'}</td>
      <td>${r.status}</td>
      <td>${r.disk ?? ''}</td>
      <td>${r.architecture ?? ''}</td>
      <td>${r.series ?? ''}</td>
      <td class="num">${bytes(r.size)}</td>
      <td>${when(r.created_at)}</td>
    </tr>`,
  );
  const list =
    v.images.length === 0
      ? html`<p class="muted">No images match.</p>`
      : html`<table>
    <thead><tr><th>Name</th><th>Owner</th><th>Access</th><th>Status</th><th>Disk</th><th>Architecture</th><th>Series</th><th class="num">Size</th><th>Created</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`;
  const hasQuery = Object.keys(f).some((k) => k !== 'sort' && k !== 'dir');
  return layout(
    'Images',
    viewer,
    html`<h1>Images</h1>
  ${form}
  ${v.problem !== undefined && html`<p class="error" role="alert">${v.problem}</p>`}
  ${list}
  <div class="pages">
    ${v.first !== undefined && html`<a href="${v.first}">First page</a>`}
    ${v.next !== undefined && html`<a href="${v.next}" rel="next">Next page</a>`}
    ${hasQuery && html`<a href="${WEB_PATHS.browse}">Clear the search</a>`}
  </div>`,
  );
}

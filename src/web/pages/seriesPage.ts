import type { ImageRecord } from '../../api/ImageRecord.ts';
import { html, type SafeHtml } from '../Html.ts';
import { bytes, layout, when, WEB_PATHS, type Viewer } from './layout.ts';

/** The latest image of each series the viewer may download, with the fixed URL that follows it. */
export function seriesPage(viewer: Viewer, latest: readonly ImageRecord[], owner: (r: ImageRecord) => string): SafeHtml {
  const rows = latest.map(
    (r) => html`<tr>
      <td>${r.series ?? ''}</td>
      <td>${owner(r)}</td>
      <td><a href="${WEB_PATHS.image(r.id)}">${r.name}</a></td>
      <td>${when(r.uploaded_at)}</td>
      <td class="num">${bytes(r.size)}</td>
      <td><a href="/series/${encodeURIComponent(r.series ?? '')}/latest/file?owner=${encodeURIComponent(owner(r))}">file</a></td>
    </tr>`,
  );
  return layout(
    'Latest of each series',
    viewer,
    html`<h1>Latest of each series</h1>
  <p class="muted">The newest available image of each series and owner. <code>GET /series/&lt;name&gt;/latest/file</code> always fetches it.</p>
  ${
    rows.length === 0
      ? html`<p class="muted">No series yet.</p>`
      : html`<table><thead><tr><th>Series</th><th>Owner</th><th>Latest image</th><th>Uploaded</th><th class="num">Size</th><th>Download</th></tr></thead><tbody>${rows}</tbody></table>`
  }`,
  );
}

import { html, type SafeHtml } from '../Html.ts';
import { csrfField, layout, type Viewer } from './layout.ts';

/**
 * Register an image and upload its file. The page's script registers it (POST /images) and streams the
 * file to PUT /images/:id/file with a progress bar, both as the signed-in session (src/web/webAssets.ts).
 */
export function uploadPage(viewer: Viewer, choices: Readonly<Record<string, readonly string[]>>): SafeHtml {
  const select = (name: string, label: string, preferred?: string, blank?: string) =>
    html`<label>${label}<select name="${name}">
      ${blank !== undefined && html`<option value="">${blank}</option>`}
      ${(choices[name] ?? []).map((o) => html`<option value="${o}"${o === preferred ? html` selected` : ''}>${o}</option>`)}
    </select></label>`;
  return layout(
    'Upload an image',
    viewer,
    html`<h1>Upload an image</h1>
  <form id="upload-form" class="stack" method="post" action="/images">
    ${csrfField(viewer)}
    <label>Name<input type="text" name="name" required maxlength="255"></label>
    ${select('disk', 'Disk format', 'qcow2')}
    ${select('container_format', 'Container format', 'bare')}
    ${select('architecture', 'Architecture', undefined, '(none)')}
    ${select('access', 'Access', 'private')}
    <label>Series (optional)<input type="text" name="series" pattern="[a-z0-9][a-z0-9._\\-]{0,127}"></label>
    <label>File<input type="file" name="file" required></label>
    <button type="submit">Register and upload</button>
    <progress id="upload-progress" value="0" max="1" hidden></progress>
    <p id="upload-status" role="status" aria-live="polite"></p>
  </form>`,
  );
}

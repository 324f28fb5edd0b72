import type { ImageRecord } from '../../api/ImageRecord.ts';
import type { HistoryEntry, ImageGrantsView } from '../../api/wire.ts';
import type { ImageTrust } from '../../trust/ImageTrust.ts';
import type { PolicyJudgement } from '../../trust/TrustPolicy.ts';
import { html, type SafeHtml } from '../Html.ts';
import { bytes, csrfField, layout, when, WEB_PATHS, type Viewer } from './layout.ts';

export interface ImageView {
  image: ImageRecord;
  history: readonly HistoryEntry[];
  trust: ImageTrust & { policy?: PolicyJudgement };
  /** The daemon's public URL, for the commands to copy. */
  publicUrl: string;
  /** The owner as this instance names them (ImageService.ownerName). */
  owner: string;
  /** Who the image is shared with: for its owner and admins only. */
  grants?: ImageGrantsView;
}

/** A file name for the commands: the image's name where it is shell-safe, else its id (names are anyone's text). */
function fileName(r: ImageRecord): string {
  const safe = r.name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 100);
  return safe === '' ? r.id : safe;
}

/** The commands that fetch the image's file, each ready to paste into a shell. */
export function fetchCommands(r: ImageRecord, publicUrl: string): { label: string; id: string; text: string }[] {
  const file = fileName(r);
  const auth = r.access === 'private' ? ' -H "Authorization: Bearer $VISOR_TOKEN"' : '';
  return [
    { label: 'curl', id: 'cmd-curl', text: `curl -fL${auth} -o ${file} ${publicUrl}/images/${r.id}/file` },
    { label: 'visor', id: 'cmd-visor', text: `visor --url ${publicUrl} download ${r.id} ${file}` },
    { label: 'OpenStack client (Glance v2)', id: 'cmd-openstack', text: `openstack --os-image-url ${publicUrl} image save --file ${file} ${r.id}` },
  ];
}

function formatVerdict(r: ImageRecord): SafeHtml {
  const i = r.inspection;
  if (!i) return html`<span class="muted">not inspected</span>`;
  const declared = r.disk;
  const agrees = declared === undefined || declared === i.format;
  return html`<span class="${agrees ? 'good' : 'bad'}">${i.format}</span>, ${bytes(i.virtual_size)} virtual${i.compat ? `, compat ${i.compat}` : ''}${
    agrees ? '' : html` <strong class="bad">(the record says ${declared})</strong>`
  } <span class="muted">inspected ${when(i.inspected_at)} by ${i.inspector}</span>`;
}

function scanVerdict(r: ImageRecord): SafeHtml {
  const s = r.scan;
  if (!s) return html`<span class="muted">not scanned</span>`;
  const cls = s.verdict === 'clean' ? 'good' : s.verdict === 'infected' ? 'bad' : 'warn';
  return html`<span class="${cls}">${s.verdict}</span>${s.signature ? ` (${s.signature})` : ''}${s.reason ? ` (${s.reason})` : ''}${s.released_at ? html` <span class="warn">released by ${s.released_by ?? ''} ${when(s.released_at)}</span>` : ''} <span class="muted">${s.engine ?? ''} ${when(s.scanned_at)}</span>`;
}

function trustSection(t: ImageView['trust']): SafeHtml {
  const flags = t.flags.map((f) => html`<li class="${f.rule === 'deprecated' ? 'warn' : 'bad'}">${f.message}</li>`);
  const endorsements = t.endorsements.map(
    (e) => html`<tr><td>${e.identity ?? ''}</td><td class="${e.state === 'valid' ? 'good' : 'bad'}">${e.state}</td><td>${(e.claims ?? []).join(', ')}</td><td>${when(e.issued_at)}</td><td>${when(e.expires_at)}${e.expires_soon ? html` <span class="warn">soon</span>` : ''}</td><td>${e.reason ?? ''}</td></tr>`,
  );
  const ancestry = t.ancestry.map(
    (a) => html`<li>${a.missing ? html`<span class="muted">${a.id} (not visible)</span>` : html`<a href="${WEB_PATHS.image(a.id)}">${a.id}</a>`}${a.deprecation ? html` <span class="warn">deprecated: ${a.deprecation.reason}</span>` : ''}${(a.revoked ?? []).length > 0 ? html` <span class="bad">endorsement revoked</span>` : ''}</li>`,
  );
  return html`<h2>Trust</h2>
  ${flags.length > 0 ? html`<ul class="flags">${flags}</ul>` : html`<p class="muted">No flags.</p>`}
  ${t.policy && html`<p>Site policy: <strong class="${t.policy.treatment === 'downloadable' ? 'good' : 'bad'}">${t.policy.treatment}</strong>${t.policy.failures.length > 0 ? html` (${t.policy.failures.map((f) => f.message).join('; ')})` : ''}</p>`}
  ${
    endorsements.length > 0
      ? html`<table><thead><tr><th>Endorser</th><th>State</th><th>Claims</th><th>Issued</th><th>Expires</th><th>Why</th></tr></thead><tbody>${endorsements}</tbody></table>`
      : html`<p class="muted">No endorsements.</p>`
  }
  ${ancestry.length > 0 && html`<h3>Built from</h3><ol>${ancestry}</ol>`}`;
}

function historySection(history: readonly HistoryEntry[]): SafeHtml {
  if (history.length === 0) return html`<p class="muted">No history.</p>`;
  return html`<table><thead><tr><th>When</th><th>Who</th><th>Change</th><th>Fields</th><th>Commit</th></tr></thead><tbody>
  ${history.map(
    (h) => html`<tr><td>${when(h.date)}</td><td>${h.author}</td><td>${h.change}</td><td>${h.fields.map((c) => c.field).join(', ')}</td><td><code title="${h.message}">${h.commit.slice(0, 10)}</code> <span class="muted">${h.catalog}</span></td></tr>`,
  )}</tbody></table>`;
}

function grantsSection(g: ImageGrantsView): SafeHtml {
  const rows = [...Object.entries(g.users).map(([name, p]) => ['user', name, p] as const), ...Object.entries(g.groups).map(([name, p]) => ['group', name, p] as const)];
  return html`<h2>Shared with</h2>
  ${
    rows.length > 0
      ? html`<table><thead><tr><th>Who</th><th>Permission</th></tr></thead><tbody>${rows.map(([kind, name, p]) => html`<tr><td>${kind} ${name}</td><td>${p}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No one but the owner${g.access === 'public' ? ' (anyone may read a public image)' : ''}.</p>`
  }
  <p class="muted">Change with <code>visor grant</code>.</p>`;
}

/** Upload (or upload again) the file of an image without one; the server decides who may. */
function fileForm(viewer: Viewer, r: ImageRecord): SafeHtml {
  return html`<form id="file-form" class="stack" method="post" action="${WEB_PATHS.file(r.id)}" data-image-id="${r.id}">
    ${csrfField(viewer)}
    <label>File<input type="file" name="file" required></label>
    <button type="submit">Upload the file</button>
    <progress id="upload-progress" value="0" max="1" hidden></progress>
    <p id="upload-status" role="status" aria-live="polite"></p>
  </form>`;
}

/** One image: its facts, verdicts, trust, history, and how to fetch its file. */
export function imagePage(viewer: Viewer, v: ImageView): SafeHtml {
  const r = v.image;
  const facts: [string, unknown][] = [
    ['Id', r.id],
    ['Owner', v.owner],
    ['Access', r.access],
    ['Status', r.status],
    ['Disk format', r.disk],
    ['Container format', r.container_format],
    ['Architecture', r.architecture],
    ['Type', r.type],
    ['Size', r.size === undefined ? undefined : `${bytes(r.size)} (${r.size} bytes)`],
    ['Checksum', r.checksum],
    ['Created', when(r.created_at)],
    ['Updated', when(r.updated_at)],
    ['Uploaded', r.uploaded_at === undefined ? undefined : when(r.uploaded_at)],
    ['Tags', r.tags && r.tags.length > 0 ? r.tags.join(', ') : undefined],
    ['Description', r.description],
  ];
  const properties = Object.entries(r.properties ?? {});
  const downloadable = r.status === 'available';
  return layout(
    r.name,
    viewer,
    html`<h1>${r.name}${r.access === 'private' ? html` <span class="badge">private</span>` : ''}</h1>
  ${r.deprecation && html`<p class="error" role="note">Deprecated: ${r.deprecation.reason}${r.deprecation.replaced_by ? html` — use <a href="${WEB_PATHS.image(r.deprecation.replaced_by)}">${r.deprecation.replaced_by}</a> instead` : ''}</p>`}
  <dl class="facts">
    ${facts.filter(([, value]) => value !== undefined && value !== '').map(([k, value]) => html`<dt>${k}</dt><dd>${String(value)}</dd>`)}
    ${r.series !== undefined && html`<dt>Series</dt><dd><a href="${WEB_PATHS.series}">${r.series}</a> <span class="muted">(latest: <code>/series/${r.series}/latest</code>)</span></dd>`}
    <dt>Format</dt><dd>${formatVerdict(r)}</dd>
    <dt>Malware scan</dt><dd>${scanVerdict(r)}</dd>
    ${properties.map(([k, value]) => html`<dt>${k}</dt><dd>${value}</dd>`)}
  </dl>
  <h2>Download</h2>
  ${
    downloadable
      ? html`<p><a href="${WEB_PATHS.file(r.id)}" download>Download the file</a> <span class="muted">${bytes(r.size)}</span></p>
  ${fetchCommands(r, v.publicUrl).map(
    (c) => html`<div class="command"><pre id="${c.id}" aria-label="${c.label}">${c.text}</pre><button type="button" data-copy="${c.id}">Copy</button></div>`,
  )}`
      : html`<p class="muted">No file to download: the image is ${r.status}.</p>`
  }
  ${viewer.who !== undefined && (r.status === 'locked' || r.status === 'error') && fileForm(viewer, r)}
  ${trustSection(v.trust)}
  ${v.grants && grantsSection(v.grants)}
  <h2>History</h2>
  ${historySection(v.history)}`,
  );
}

import type { GroupView, HealthReport, StoreListing, UsageReport, UserView } from '../../api/wire.ts';
import { html, type SafeHtml } from '../Html.ts';
import { barChart } from './barChart.ts';
import { bytes, layout, when, WEB_PATHS, type Viewer } from './layout.ts';

export interface AdminView {
  health: HealthReport;
  stores: StoreListing;
  users: readonly UserView[];
  groups: readonly GroupView[];
  report: UsageReport;
}

/** What an admin watches: store health, accounts and groups, and the usage report as charts. */
export function adminPage(viewer: Viewer, v: AdminView): SafeHtml {
  const r = v.report;
  const storeRows = v.stores.stores.map((s) => {
    const h = v.health.stores[s.name];
    return html`<tr><td>${s.name}${s.name === v.stores.default ? html` <span class="badge">default</span>` : ''}</td><td>${s.type}</td><td>${s.writable ? 'yes' : 'no'}</td>
      <td class="${h?.ok ? 'good' : 'bad'}">${h === undefined ? 'unknown' : h.ok ? 'ok' : 'failing'}</td><td>${h?.detail ?? ''}</td>
      <td class="num">${bytes(r.storage.by_store[s.name]?.bytes ?? 0)}</td><td class="num">${r.storage.by_store[s.name]?.files ?? 0}</td></tr>`;
  });
  return layout(
    'Administration',
    viewer,
    html`<h1>Administration</h1>
  <h2>Health: <span class="${v.health.status === 'ok' ? 'good' : 'bad'}">${v.health.status}</span></h2>
  <p class="muted">${v.health.catalog.images} images; catalogue head <code>${v.health.catalog.head ?? 'none'}</code>.</p>
  <table><thead><tr><th>Store</th><th>Type</th><th>Writable</th><th>Health</th><th>Detail</th><th class="num">Stored</th><th class="num">Files</th></tr></thead><tbody>${storeRows}</tbody></table>

  <h2>Usage</h2>
  <p class="muted">Report of ${when(r.generated_at)}: ${r.images} images, ${bytes(r.storage.total.bytes)} in ${r.storage.total.files} files.</p>
  ${barChart('Storage per store', Object.entries(r.storage.by_store).map(([name, u]) => ({ label: name, value: u.bytes, shown: bytes(u.bytes) })))}
  ${barChart('Storage per owner', Object.entries(r.storage.by_owner).map(([name, u]) => ({ label: name, value: u.bytes, shown: bytes(u.bytes) })))}
  ${barChart(`Downloads per day, last ${r.activity.downloads_by_day.length} days`, r.activity.downloads_by_day.map((d) => ({ label: d.day, value: d.downloads })))}
  ${barChart('Most downloaded images', r.most_downloaded.map((i) => ({ label: i.name, value: i.downloads })))}
  ${barChart(`Requests per account, last ${r.activity.days} days`, r.activity.users.map((u) => ({ label: u.user, value: u.requests })))}
  <h3>Unused for ${r.unused.days} days: ${r.unused.count}</h3>
  ${
    r.unused.images.length > 0
      ? html`<table><thead><tr><th>Image</th><th>Owner</th><th>Last used</th><th class="num">Size</th></tr></thead><tbody>${r.unused.images.map(
          (i) => html`<tr><td><a href="${WEB_PATHS.image(i.id)}">${i.name}</a></td><td>${i.owner}</td><td>${when(i.last_used)}</td><td class="num">${bytes(i.size)}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="muted">None.</p>`
  }
  ${
    r.expiring_endorsements.count > 0 &&
    html`<h3>Endorsements expiring within ${r.expiring_endorsements.days} days</h3><ul>${r.expiring_endorsements.endorsements.map(
      (e) => html`<li><a href="${WEB_PATHS.image(e.image)}">${e.name ?? e.image}</a>: ${e.identity}, ${when(e.expires_at)}</li>`,
    )}</ul>`
  }

  <h2>Accounts</h2>
  <table><thead><tr><th>Name</th><th>Role</th><th>Groups</th><th>Key</th><th>Since</th></tr></thead><tbody>
  ${v.users.map(
    (u) => html`<tr><td>${u.name}${u.disabled ? html` <span class="badge bad">disabled</span>` : ''}</td><td>${u.role}</td><td>${u.groups.join(', ')}</td><td><code>${u.key_id}</code> <span class="muted">${when(u.key_created_at)}</span></td><td>${when(u.created_at)}</td></tr>`,
  )}</tbody></table>
  <h2>Groups</h2>
  ${
    v.groups.length > 0
      ? html`<table><thead><tr><th>Group</th><th>Members</th><th>Since</th></tr></thead><tbody>${v.groups.map((g) => html`<tr><td>${g.name}</td><td>${g.members.join(', ')}</td><td>${when(g.created_at)}</td></tr>`)}</tbody></table>`
      : html`<p class="muted">No groups.</p>`
  }
  <p class="muted">Grants are shown on each image's page to its owner and admins. Accounts and groups are changed with <code>visor user</code> and <code>visor group</code>.</p>`,
  );
}

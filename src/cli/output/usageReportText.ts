import Table from 'cli-table3';
import type { ImageUsage, StorageUse, UsageReport } from '../../tracking/UsageReport.ts';
import { formatBytes } from './formatBytes.ts';

function imageRows(title: string, images: readonly ImageUsage[]): string {
  if (images.length === 0) return `${title}: none`;
  const table = new Table({ head: ['ID', 'NAME', 'OWNER', 'DOWNLOADS', 'LAST USED', 'SIZE'], style: { head: [], border: [] } });
  for (const i of images) table.push([i.id, i.name, i.owner, String(i.downloads), i.last_used, i.size === undefined ? '' : formatBytes(i.size)]);
  return `${title}:\n${table.toString()}`;
}

function storageRows(title: string, uses: Record<string, StorageUse>): string {
  const entries = Object.entries(uses).sort(([, a], [, b]) => b.bytes - a.bytes);
  if (entries.length === 0) return `${title}: nothing stored`;
  const table = new Table({ head: [title.toUpperCase(), 'FILES', 'BYTES'], style: { head: [], border: [] } });
  for (const [name, u] of entries) table.push([name, String(u.files), formatBytes(u.bytes)]);
  return table.toString();
}

/** `visor report` for people: one section per question an administrator asks. */
export function usageReportText(r: UsageReport): string {
  const activity = new Table({ head: ['USER', 'REQUESTS', 'READS', 'DOWNLOADS', 'WRITES', 'DENIED', 'LAST SEEN'], style: { head: [], border: [] } });
  for (const u of r.activity.users) activity.push([u.user, String(u.requests), String(u.reads), String(u.downloads), String(u.writes), String(u.denied), u.last_seen]);
  return [
    `usage report of ${r.generated_at}: ${r.images} images, ${formatBytes(r.storage.total.bytes)} stored in ${r.storage.total.files} files`,
    imageRows('most downloaded', r.most_downloaded),
    imageRows('least downloaded', r.least_downloaded),
    imageRows(`not used for ${r.unused.days} days (${r.unused.count}; candidates for deletion)`, r.unused.images),
    r.activity.users.length === 0 ? `activity in the last ${r.activity.days} days: none` : `activity in the last ${r.activity.days} days:\n${activity.toString()}`,
    storageRows('store', r.storage.by_store),
    storageRows('owner', r.storage.by_owner),
    expiringRows(r),
  ].join('\n\n');
}

/** Endorsements to renew: each lapses within the window, soonest first (a daemon before them sends none). */
function expiringRows(r: UsageReport): string {
  const e = r.expiring_endorsements;
  if (!e || e.count === 0) return `endorsements expiring within ${e?.days ?? 30} days: none`;
  const table = new Table({ head: ['IMAGE', 'NAME', 'ENDORSER', 'EXPIRES'], style: { head: [], border: [] } });
  for (const x of e.endorsements) table.push([x.image, x.name ?? '', x.identity, x.expires_at]);
  return `endorsements expiring within ${e.days} days (${e.count}; sign new ones before then):\n${table.toString()}`;
}

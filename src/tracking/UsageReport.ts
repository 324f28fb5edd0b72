import type { ImageRecord } from '../api/ImageRecord.ts';
import type { AccessEntry } from './AccessStats.ts';
import type { AuditEntry } from './AuditEntry.ts';
import type { ExpiringEndorsement, ImageUsage, StorageUse, UsageReport, UserActivity } from '../api/wire.ts';

export type { ImageUsage, StorageUse, UsageReport, UserActivity };

export interface UsageReportOptions {
  /** Images not downloaded for this many days are listed as candidates for deletion. */
  unusedDays: number;
  /** Length of the most and least downloaded lists. */
  top: number;
  /** Per-user activity covers the audit log of this many days. */
  activityDays: number;
  now?: Date;
}

const ANONYMOUS = '(anonymous)';
/** The unused list is for reading; past this many the count still says how many there are. */
const MAX_LISTED = 1000;

export interface UsageInput {
  images: Iterable<ImageRecord>;
  stats: (id: string) => AccessEntry | undefined;
  audit: AsyncIterable<AuditEntry>;
  /** Valid endorsements about to lapse (src/trust/SiteTrust.ts expiring). */
  expiring?: () => { days: number; endorsements: ExpiringEndorsement[] };
}

export async function buildUsageReport(input: UsageInput, options: UsageReportOptions): Promise<UsageReport> {
  const now = options.now ?? new Date();
  const unusedSince = new Date(now.getTime() - options.unusedDays * 86_400_000).toISOString();
  const activitySince = new Date(now.getTime() - options.activityDays * 86_400_000).toISOString();

  const usage: ImageUsage[] = [];
  const byStore: Record<string, StorageUse> = {};
  const byOwner: Record<string, StorageUse> = {};
  const total: StorageUse = { files: 0, bytes: 0 };
  for (const r of input.images) {
    const s = input.stats(r.id);
    usage.push({
      id: r.id,
      name: r.name,
      owner: r.owner,
      status: r.status,
      downloads: s?.count ?? 0,
      last_used: s?.last ?? r.uploaded_at ?? r.created_at,
      ...(r.size !== undefined ? { size: r.size } : {}),
    });
    // Storage used: a file copied to two stores takes space in both.
    for (const loc of r.locations ?? []) {
      const bytes = r.size ?? 0;
      for (const use of [(byStore[loc.store] ??= { files: 0, bytes: 0 }), (byOwner[r.owner] ??= { files: 0, bytes: 0 }), total]) {
        use.files++;
        use.bytes += bytes;
      }
    }
  }
  const available = usage.filter((u) => u.status === 'available');
  const byName = (a: ImageUsage, b: ImageUsage) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id);
  const most = available.filter((u) => u.downloads > 0).sort((a, b) => b.downloads - a.downloads || byName(a, b));
  const least = [...available].sort((a, b) => a.downloads - b.downloads || a.last_used.localeCompare(b.last_used) || byName(a, b));
  const unused = usage.filter((u) => u.last_used < unusedSince).sort((a, b) => a.last_used.localeCompare(b.last_used) || byName(a, b));

  const expiring = input.expiring?.() ?? { days: 0, endorsements: [] };

  const users = new Map<string, UserActivity>();
  const downloadsByDay = new Map<string, number>();
  for await (const e of input.audit) {
    if (e.at < activitySince) continue;
    const name = e.user ?? ANONYMOUS;
    let a = users.get(name);
    if (!a) users.set(name, (a = { user: name, requests: 0, reads: 0, downloads: 0, writes: 0, denied: 0, last_seen: e.at }));
    a.requests++;
    if (e.outcome === 'denied') a.denied++;
    else if (e.method === 'GET' || e.method === 'HEAD') {
      // Whole files only, as in the download counts: a ranged read is a read.
      if (e.action === 'image.download' && e.method === 'GET' && e.status === 200 && e.outcome === 'ok') {
        a.downloads++;
        const day = e.at.slice(0, 10);
        downloadsByDay.set(day, (downloadsByDay.get(day) ?? 0) + 1);
      } else a.reads++;
    } else a.writes++;
    if (e.at > a.last_seen) a.last_seen = e.at;
  }

  return {
    generated_at: now.toISOString(),
    images: usage.length,
    most_downloaded: most.slice(0, options.top),
    least_downloaded: least.slice(0, options.top),
    unused: { days: options.unusedDays, since: unusedSince, count: unused.length, images: unused.slice(0, MAX_LISTED) },
    activity: {
      days: options.activityDays,
      since: activitySince,
      users: [...users.values()].sort((a, b) => b.requests - a.requests || a.user.localeCompare(b.user)),
      downloads_by_day: daysOf(now, Math.min(options.activityDays, MAX_DAYS_LISTED)).map((day) => ({ day, downloads: downloadsByDay.get(day) ?? 0 })),
    },
    storage: { total, by_store: byStore, by_owner: byOwner },
    expiring_endorsements: { days: expiring.days, count: expiring.endorsements.length, endorsements: expiring.endorsements.slice(0, MAX_LISTED) },
  };
}

/** A year of days at most in the downloads series: the window itself may be far longer. */
const MAX_DAYS_LISTED = 366;

/** The UTC days (YYYY-MM-DD) of the `days` days up to and including `now`'s, oldest first. */
function daysOf(now: Date, days: number): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(new Date(now.getTime() - i * 86_400_000).toISOString().slice(0, 10));
  return out;
}

import { idFromPath } from '../catalog/CatalogLayout.ts';
import type { ChangeSummary } from '../catalog/ChangeChecker.ts';
import type { InstanceIdentity } from './InstanceIdentity.ts';

/** Whose a record is: all a sync's authority depends on. */
export interface Whose {
  owner?: string | undefined;
  origin?: string | undefined;
}

/** A record file's owner and origin before a sync, and after it. */
export interface RecordVersions {
  before(path: string): Promise<Whose | undefined>;
  after(path: string): Promise<Whose | undefined>;
}

/** A change a sync brought that this instance does not take: the file stays as it was here. */
export interface KeptHere {
  path: string;
  resolution: string;
}

/**
 * How far an upstream's authority reaches in a sync: over the records of other instances only.
 * - It may not change or delete a record of this instance (changed here, and published upstream by
 *   review): this instance's version stays.
 * - Every record it brings names the instance whose accounts own it (`origin`): one without would
 *   belong to this instance's account of the same name the moment it arrived, and one naming this
 *   instance would speak in its name. Such a record is not taken.
 * What is not taken stays as it was here and is reported; the rest of the sync goes on, so one bad
 * record never holds back an upstream's other changes. Everything a sync changes is the upstream's
 * doing, so the difference between the catalogue before and after it is exactly what is judged.
 */
export async function changesBeyondAuthority(upstream: string, changes: ChangeSummary, versions: RecordVersions, self: InstanceIdentity): Promise<KeptHere[]> {
  const kept: KeptHere[] = [];
  const diff = [...changes.added.map((path) => ({ path, status: 'A' })), ...changes.modified.map((path) => ({ path, status: 'M' })), ...changes.deleted.map((path) => ({ path, status: 'D' }))];
  for (const c of diff) {
    const id = idFromPath(c.path);
    if (id === undefined) continue;
    const before = c.status === 'A' ? undefined : await versions.before(c.path);
    if (before && self.isHome({ owner: before.owner ?? '', origin: before.origin })) {
      kept.push({ path: c.path, resolution: `kept this instance's version: image ${id} belongs to ${before.owner ?? 'an account'} of this instance, so upstream ${upstream} may not ${c.status === 'D' ? 'delete' : 'change'} it` });
      continue;
    }
    if (c.status !== 'A') continue;
    const after = await versions.after(c.path);
    if (!after) continue;
    if (after.origin === undefined) {
      kept.push({ path: c.path, resolution: `not taken: a record from upstream ${upstream} must name its origin (the instance whose accounts own it); without one its owner would be taken for this instance's account of that name` });
    } else if (after.origin === self.name) {
      kept.push({ path: c.path, resolution: `not taken: upstream ${upstream} may not add an image in the name of this instance (${self.name})` });
    }
  }
  return kept;
}

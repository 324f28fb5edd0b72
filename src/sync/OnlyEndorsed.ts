import type { ImageRecord } from '../api/ImageRecord.ts';
import { ENDORSERS_FILE, endorsementDir, idFromPath, recordPath, statementFromPath } from '../catalog/CatalogLayout.ts';
import type { ChangeSummary } from '../catalog/ChangeChecker.ts';
import type { KeptHere } from '../federation/UpstreamAuthority.ts';
import { EndorserList } from '../trust/EndorserList.ts';
import type { StatementText } from '../trust/EndorsementState.ts';
import { MAX_GENERATIONS, trustOf } from '../trust/ImageTrust.ts';
import { DEFAULT_POLICY, judgeTrust, type TrustPolicy } from '../trust/TrustPolicy.ts';

/** One version of a catalogue (the merged result of a sync), read from git. */
export interface CatalogVersion {
  text(path: string): Promise<string | undefined>;
  /** The names of the files in a folder (none when absent). */
  list(folder: string): Promise<string[]>;
}

/**
 * An upstream followed with `only_endorsed` (zot's onlySigned): of the records it adds or changes,
 * only those its catalogue endorses as the site's trust policy requires (default: one valid
 * endorsement, nothing revoked, no revoked base) are taken. The others, and the statements that
 * came with them, stay as they were here (absent, for a new image) and are reported; the rest of the
 * sync arrives.
 *
 * The endorsements are judged against the endorser list as the sync leaves it: the upstream's. A site
 * that does not trust the upstream to keep that list names its endorsers by key fingerprint in its
 * policy (`endorsers`), so a key the upstream adds counts for nothing.
 */
export async function unendorsedChanges(upstream: string, changes: ChangeSummary, merged: CatalogVersion, theirs: CatalogVersion, policy: TrustPolicy | undefined): Promise<OnlyEndorsedOutcome> {
  const ids = [...changes.added, ...changes.modified].map((p) => (p.startsWith('images/') ? idFromPath(p) : undefined)).filter((id): id is string => id !== undefined);
  // Statements arriving for an image not here: one an earlier sync did not take, now perhaps endorsed.
  const taking = new Set(ids);
  const later = [...new Set(changes.added.map((p) => statementFromPath(p)?.id).filter((id): id is string => id !== undefined && !taking.has(id)))];
  const outcome: OnlyEndorsedOutcome = { kept: [], taken: [] };
  if (ids.length === 0 && later.length === 0) return outcome;
  const records = new Map<string, ImageRecord | undefined>();
  const statements = new Map<string, StatementText[]>();
  const load = async (id: string, from: CatalogVersion = merged): Promise<ImageRecord | undefined> => {
    if (!records.has(id)) {
      const text = await from.text(recordPath(id));
      let record: ImageRecord | undefined;
      try {
        record = text === undefined ? undefined : (JSON.parse(text) as ImageRecord);
      } catch {
        record = undefined;
      }
      records.set(id, record);
      const folder = endorsementDir(id);
      const names = (await merged.list(folder)).filter((n) => n.endsWith('.json')).sort();
      const texts = await Promise.all(names.map(async (n) => ({ path: `${folder}/${n}`, text: (await merged.text(`${folder}/${n}`)) ?? '' })));
      statements.set(id, texts);
    }
    return records.get(id);
  };
  const endorsers = EndorserList.parse(await merged.text(ENDORSERS_FILE));
  const judge = async (id: string, from: CatalogVersion): Promise<string | undefined | false> => {
    const record = await load(id, from);
    if (!record) return false;
    // Its bases, read ahead: the judgement itself reads synchronously.
    let base = record.built_from;
    for (let n = 0; base !== undefined && n < MAX_GENERATIONS && !records.has(base); n++) base = (await load(base))?.built_from;
    const trust = trustOf(record, { record: (rid) => records.get(rid), statements: (rid) => statements.get(rid) ?? [], endorsers: () => endorsers });
    const verdict = judgeTrust(trust, policy ?? DEFAULT_POLICY);
    return verdict.treatment === 'downloadable' ? undefined : verdict.failures.map((f) => f.message).join('; ');
  };
  const addedStatements = new Map<string, string[]>();
  for (const path of changes.added) {
    const sid = statementFromPath(path)?.id;
    if (sid !== undefined) addedStatements.set(sid, [...(addedStatements.get(sid) ?? []), path]);
  }
  const keepOut = (id: string, why: string, record: boolean) => {
    if (record) outcome.kept.push({ path: recordPath(id), resolution: `not taken: upstream ${upstream} is followed only_endorsed, and image ${id} is not endorsed as this site requires: ${why}` });
    for (const path of addedStatements.get(id) ?? []) outcome.kept.push({ path, resolution: `not taken with image ${id}, which is not here (only_endorsed)` });
  };
  for (const id of ids) {
    const why = await judge(id, merged);
    if (why) keepOut(id, why, true);
  }
  for (const id of later) {
    if ((await merged.text(recordPath(id))) !== undefined) continue;
    const why = await judge(id, theirs);
    if (why === undefined) outcome.taken.push(recordPath(id));
    else keepOut(id, why || `image ${id} is not in upstream ${upstream}'s catalogue`, false);
  }
  return outcome;
}

/** What the rule keeps out of a sync, and the records of earlier syncs it takes now that they are endorsed. */
export interface OnlyEndorsedOutcome {
  kept: KeptHere[];
  /** Record paths to take from the upstream's head. */
  taken: string[];
}

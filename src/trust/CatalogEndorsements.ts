import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { ENDORSERS_FILE, endorsementDir } from '../catalog/CatalogLayout.ts';
import { EndorserList } from './EndorserList.ts';
import { assessEndorsements, type EndorsementView, type StatementText } from './EndorsementState.ts';
import { MAX_STATEMENT_BYTES } from './StatementFile.ts';

/** At most this many statements are read for one image: a catalogue's checks bound the rest. */
const MAX_STATEMENTS = 1000;

/** The statement files of one image in a catalogue working tree (none when it has no folder). */
export async function statementsIn(dir: string, id: string): Promise<StatementText[]> {
  const folder = endorsementDir(id);
  const names = (await readdir(join(dir, folder)).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort().slice(0, MAX_STATEMENTS);
  const out: StatementText[] = [];
  for (const name of names) {
    const text = await readFile(join(dir, folder, name), 'utf8').catch(() => undefined);
    // An oversized file is no statement; it is shown as bad rather than read whole.
    if (text !== undefined) out.push({ path: `${folder}/${name}`, text: text.length > MAX_STATEMENT_BYTES * 4 ? '' : text });
  }
  return out;
}

export async function endorsersIn(dir: string): Promise<EndorserList> {
  return EndorserList.parse(await readFile(join(dir, ENDORSERS_FILE), 'utf8').catch(() => undefined));
}

/**
 * The endorsements of one image and their states, from catalogue working trees: its statements in
 * any of `dirs` (an image that moved between an instance's two catalogues keeps those made before),
 * judged against the endorser list of `trustDir`.
 */
export async function endorsementsOf(id: string, record: ImageRecord | undefined, dirs: readonly string[], trustDir: string, now: Date = new Date()): Promise<EndorsementView[]> {
  const files = (await Promise.all(dirs.map((d) => statementsIn(d, id)))).flat();
  const seen = new Set<string>();
  const unique = files.filter((f) => !seen.has(f.path) && seen.add(f.path));
  return assessEndorsements(id, unique, record, await endorsersIn(trustDir), now);
}

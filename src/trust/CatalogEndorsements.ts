import { readdirSync, readFileSync, type Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { ENDORSEMENTS_DIR, ENDORSERS_FILE, ID_PATTERN, endorsementDir } from '../catalog/CatalogLayout.ts';
import { EndorserList } from './EndorserList.ts';
import { assessEndorsements, type EndorsementView, type StatementText } from './EndorsementState.ts';
import { MAX_STATEMENT_BYTES } from './StatementFile.ts';
import type { TrustSource } from './ImageTrust.ts';

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

/** The statement files of one image in a catalogue working tree, read at once (a judgement of access waits for nothing). */
export function statementsInSync(dir: string, id: string): StatementText[] {
  const folder = endorsementDir(id);
  let entries: Dirent[];
  try {
    entries = readdirSync(join(dir, folder), { withFileTypes: true }).filter((e) => e.name.endsWith('.json')).sort((a, b) => (a.name < b.name ? -1 : 1)).slice(0, MAX_STATEMENTS);
  } catch {
    return [];
  }
  const out: StatementText[] = [];
  for (const entry of entries) {
    const name = entry.name;
    let text: string;
    try {
      // A FIFO would block the read and a link points anywhere: not read, so shown as no statement (bad).
      text = entry.isFile() ? readFileSync(join(dir, folder, name), 'utf8') : '';
    } catch {
      continue;
    }
    out.push({ path: `${folder}/${name}`, text: text.length > MAX_STATEMENT_BYTES * 4 ? '' : text });
  }
  return out;
}

/**
 * An image's trust read from catalogue working trees: statements from any of `dirs` (an image that
 * moved between an instance's two catalogues keeps those made before), the endorser list of
 * `trustDir`, records from `record`.
 */
export class CatalogTrustSource implements TrustSource {
  private readonly dirs: readonly string[];
  private readonly trustDir: string;
  private readonly lookup: (id: string) => ImageRecord | undefined;
  private list: EndorserList | undefined;

  constructor(dirs: readonly string[], trustDir: string, record: (id: string) => ImageRecord | undefined) {
    this.dirs = dirs;
    this.trustDir = trustDir;
    this.lookup = record;
  }

  record(id: string): ImageRecord | undefined {
    return this.lookup(id);
  }

  statements(id: string): StatementText[] {
    const seen = new Set<string>();
    return this.dirs.flatMap((d) => statementsInSync(d, id)).filter((f) => !seen.has(f.path) && seen.add(f.path));
  }

  /** Read once per source: a source serves one judgement (or one request). */
  endorsers(): EndorserList {
    this.list ??= EndorserList.parse(readTextSync(join(this.trustDir, ENDORSERS_FILE)));
    return this.list;
  }
}

function readTextSync(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The ids of the images that have a statement folder in a catalogue working tree (endorsements/<shard>/<id>). */
export function imagesWithStatements(dir: string): string[] {
  const ids: string[] = [];
  let shards: string[];
  try {
    shards = readdirSync(join(dir, ENDORSEMENTS_DIR));
  } catch {
    return ids;
  }
  for (const shard of shards) {
    if (!/^[0-9a-f]{2}$/.test(shard)) continue;
    try {
      for (const id of readdirSync(join(dir, ENDORSEMENTS_DIR, shard))) if (ID_PATTERN.test(id) && id.startsWith(shard)) ids.push(id);
    } catch {
      // A file where a shard folder belongs: the catalogue's checks report it.
    }
  }
  return ids;
}

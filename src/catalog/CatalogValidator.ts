import { ImageSchema } from './ImageSchema.ts';
import { scanCatalog, type FileProblem } from './CatalogScanner.ts';
import { imageIds, ownerKey, recordProblems, seriesNameKey } from './CatalogRules.ts';
import { CATALOG_CONFIG_FILE, ENDORSEMENTS_DIR, ENDORSERS_FILE, recordPath, ROOT_FILE, TRUST_SIGNATURES_FILE } from './CatalogLayout.ts';
import { statementChangeProblems } from '../trust/EndorsementChecks.ts';
import { privateInPublic, visibilityOf } from './CatalogVisibility.ts';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CatalogCheckRun } from './CatalogCheckRun.ts';
import { commitRef } from './CatalogTree.ts';
import { oversized, withHistory } from './HistoryChecks.ts';
import { invalidField } from '../errors/VisorError.ts';

/**
 * What `visor catalog validate` and the vendored CI checker (.visor/visor-check.mjs) both answer:
 * with a base, what changed from it to HEAD (a pull request); without, the whole working tree.
 */
export function validate(dir: string, options: { base?: string | undefined } = {}): Promise<FileProblem[]> {
  return options.base === undefined ? validateCatalog(dir) : validateChanges(dir, options.base);
}

/**
 * What the server's pre-receive hook checks for a push of HEAD onto `base`: the change, with the
 * rules of the hooks, and every commit on the way (src/catalog/HistoryChecks.ts).
 */
export async function validateChanges(dir: string, base: string): Promise<FileProblem[]> {
  // A revision, never an option git would act on (--output=FILE, say).
  if (base.startsWith('-')) throw invalidField('base', 'revision', 'a revision', `--base ${base}: a revision, not an option`);
  const run = await CatalogCheckRun.open(dir);
  try {
    const publicOnly = (await run.visibilityAt(base)) === 'public';
    const history = await run.history(`${base}..HEAD`, { publicOnly });
    return oversized(history) ? history : withHistory((await run.check(commitRef(base), commitRef('HEAD'))).problems, history);
  } finally {
    await run.close();
  }
}

/** Validates a whole catalogue working tree: every file on its own, then the rules between them. */
export async function validateCatalog(dir: string, schema = new ImageSchema()): Promise<FileProblem[]> {
  const { records, problems } = scanCatalog(dir, schema);
  const visibility = visibilityOf(await readFile(join(dir, CATALOG_CONFIG_FILE), 'utf8').catch(() => undefined));
  const byId = new Map(records.map((r) => [r.id, r]));
  // A duplicate name is reported once, on the later record, naming the one that had it first.
  const firstNamed = new Map<string, string>();
  for (const record of records) {
    const key = record.series === undefined ? undefined : seriesNameKey(record.series, ownerKey(record), record.name);
    const first = key === undefined ? undefined : firstNamed.get(key);
    if (key !== undefined && first === undefined) firstNamed.set(key, record.id);
    const lookup = { record: (id: string) => byId.get(id), namesakes: () => (first === undefined ? [] : imageIds([first])) };
    for (const p of recordProblems(record, lookup)) problems.push({ file: recordPath(record.id), ...p });
    if (visibility === 'public' && record.access === 'private') problems.push(privateInPublic(recordPath(record.id)));
  }
  // Every statement as if newly added: the same rules a change of it meets.
  const statements = await statementFilesIn(dir);
  const text = (path: string) => readFile(join(dir, path), 'utf8').catch(() => undefined);
  problems.push(...(await statementChangeProblems({ added: [...statements, ENDORSERS_FILE, ROOT_FILE, TRUST_SIGNATURES_FILE], modified: [], deleted: [] }, { text, baseText: async () => undefined, record: async (id) => byId.get(id) })));
  return problems;
}

/** The files under a working tree's endorsements/ (<shard>/<id>/<file>; anything else there is reported by its layout rule), as catalogue paths. */
async function statementFilesIn(dir: string): Promise<string[]> {
  const list = async (path: string) => (await readdir(join(dir, path), { withFileTypes: true }).catch(() => [])).map((e) => ({ path: `${path}/${e.name}`, folder: e.isDirectory() }));
  const files: string[] = [];
  for (const shard of await list(ENDORSEMENTS_DIR)) {
    if (!shard.folder) files.push(shard.path);
    else for (const image of await list(shard.path)) {
      if (!image.folder) files.push(image.path);
      else for (const f of await list(image.path)) files.push(f.path);
    }
  }
  return files;
}

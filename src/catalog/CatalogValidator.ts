import { ImageSchema } from './ImageSchema.ts';
import { scanCatalog, type FileProblem } from './CatalogScanner.ts';
import { imageIds, ownerKey, recordProblems, seriesNameKey } from './CatalogRules.ts';
import { CATALOG_CONFIG_FILE, recordPath } from './CatalogLayout.ts';
import { privateInPublic, visibilityOf } from './CatalogVisibility.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  return problems;
}

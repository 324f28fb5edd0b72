import { ImageSchema } from './ImageSchema.ts';
import { scanCatalog, type FileProblem } from './CatalogScanner.ts';
import { referenceProblems, seriesNameProblems } from './CatalogRules.ts';
import { recordPath } from './CatalogLayout.ts';

/** Validates a whole catalogue working tree: every file on its own, then the references between them. */
export async function validateCatalog(dir: string, schema = new ImageSchema()): Promise<FileProblem[]> {
  const { records, problems } = scanCatalog(dir, schema);
  const byId = new Map(records.map((r) => [r.id, r]));
  for (const record of records) {
    for (const p of referenceProblems(record, (id) => byId.get(id))) problems.push({ file: recordPath(record.id), ...p });
  }
  for (const [id, p] of seriesNameProblems(records)) problems.push({ file: recordPath(id), ...p });
  return problems;
}

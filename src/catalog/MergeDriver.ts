import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { mergeRecords, type Preference } from './RecordMerge.ts';
import { ImageSchema } from './ImageSchema.ts';
import { serializeRecord } from './RecordFile.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { invalidField } from '../errors/VisorError.ts';

export interface MergeDriverInput {
  base: string;
  ours: string;
  theirs: string;
  path: string;
  prefer: string;
  report?: string;
}

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * git's merge driver for image records (merge.visor-json): writes the merged record over `ours` and
 * answers whether the merge is clean. A file that is not a JSON object is left to git's conflict.
 */
export async function runMergeDriver(input: MergeDriverInput): Promise<boolean> {
  if (input.prefer !== 'none' && input.prefer !== 'ours' && input.prefer !== 'theirs') throw invalidField('--prefer', 'enum', 'none, ours or theirs');
  const [base, ours, theirs] = await Promise.all([readJson(input.base), readJson(input.ours), readJson(input.theirs)]);
  if (!ours || !theirs) return false;
  const result = mergeRecords(base ?? {}, ours, theirs, input.prefer as Preference);
  await writeFile(input.ours, serializeRecord(result.merged as unknown as ImageRecord, new ImageSchema()));
  for (const c of result.conflicts) {
    process.stderr.write(`visor merge: ${input.path}: ${c.field}: ours ${JSON.stringify(c.ours)}, theirs ${JSON.stringify(c.theirs)}${c.kept ? `, kept ${c.kept}` : ', unresolved'}\n`);
    if (input.report) await appendFile(input.report, `${JSON.stringify({ path: input.path, ...c })}\n`);
  }
  return result.clean;
}

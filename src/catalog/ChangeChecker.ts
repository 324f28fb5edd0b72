import { isDeepStrictEqual } from 'node:util';
import type { GitRunner } from '../git/GitRunner.ts';
import type { GitObjectReader } from '../git/GitObjectReader.ts';
import type { ImageSchema } from './ImageSchema.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { CATALOG_CONFIG_FILE, IMAGES_DIR, idFromPath, recordPath } from './CatalogLayout.ts';
import { checkRecordFile, type FileProblem } from './CatalogScanner.ts';
import { imageIds, recordProblems } from './CatalogRules.ts';
import { diffCommits, listTree, type TreeRef } from './CatalogTree.ts';
import type { CatalogFacts } from './CatalogFacts.ts';
import { TreeFacts } from './TreeFacts.ts';
import { statementChangeProblems } from '../trust/EndorsementChecks.ts';
import { trustFilesAlong } from './TrustFileHistory.ts';
import { privateInPublic, visibilityChangeProblem, visibilityOf } from './CatalogVisibility.ts';

/**
 * Facts of an image that nothing may change once set: what was published is what stays published.
 * The documented path to a new file is a new image (a new version in the same series).
 */
export const IMMUTABLE_FIELDS = ['id', 'owner', 'origin', 'created_at', 'checksum', 'size', 'uploaded_at'] as const;

export interface ChangeCheckContext {
  git: GitRunner;
  reader: GitObjectReader;
  schema: ImageSchema;
  facts: CatalogFacts;
  /** A version's files and record facts (default: listed in full); a long-lived checker keeps them current by diffs. */
  tree?: (ref: TreeRef) => Promise<TreeFacts>;
}

export interface CheckOptions {
  /** Refuse private records whatever the catalogue's config says (a daemon's shared catalogue). */
  publicOnly?: boolean;
}

export interface ChangeSummary {
  added: string[];
  modified: string[];
  deleted: string[];
}

/** Files that differ between two trees, by blob id. */
export function diffTrees(base: Map<string, string>, target: Map<string, string>): ChangeSummary {
  const added: string[] = [];
  const modified: string[] = [];
  const deleted: string[] = [];
  for (const [path, oid] of target) {
    const before = base.get(path);
    if (before === undefined) added.push(path);
    else if (before !== oid) modified.push(path);
  }
  for (const path of base.keys()) if (!target.has(path)) deleted.push(path);
  return { added, modified, deleted };
}

/**
 * Checks what changed between two versions of a catalogue: the rules of the pre-commit and
 * pre-receive hooks and of `visor catalog validate --base`. Returns every problem, one per file and
 * field, never stopping at the first.
 */
export async function checkChanges(ctx: ChangeCheckContext, base: TreeRef, target: TreeRef, options: CheckOptions = {}): Promise<{ problems: FileProblem[]; changes: ChangeSummary }> {
  const tree = await (ctx.tree ?? ((ref: TreeRef) => treeFactsOf(ctx, ref)))(target);
  const targetEntries = tree.entries;
  // Between two commits, git names what changed (and the blobs before) without listing the base.
  let changes: ChangeSummary;
  let baseBlob: (path: string) => string | undefined;
  if (base.kind === 'commit' && target.kind === 'commit') {
    const diff = await diffCommits(ctx.git, base.rev, target.rev);
    changes = { added: [], modified: [], deleted: [] };
    for (const c of diff) (c.status === 'A' ? changes.added : c.status === 'D' ? changes.deleted : changes.modified).push(c.path);
    const before = new Map(diff.filter((c) => c.status !== 'A').map((c) => [c.path, c.before]));
    baseBlob = (path) => before.get(path);
  } else {
    const baseEntries = await listTree(ctx.git, base);
    changes = diffTrees(baseEntries, targetEntries);
    baseBlob = (path) => baseEntries.get(path);
  }
  const problems: FileProblem[] = [];
  const readBlob = async (oid: string | undefined) => (oid ? ctx.reader.text(oid) : undefined);
  const parse = (text: string | undefined): ImageRecord | undefined => {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as ImageRecord;
    } catch {
      return undefined;
    }
  };

  // The catalogue's own settings come from the base: a change cannot loosen the rules it is judged by.
  const configText =
    base.kind === 'commit' ? await ctx.reader.text(`${base.rev}:${CATALOG_CONFIG_FILE}`) : base.kind === 'index' ? await ctx.reader.text(`:${CATALOG_CONFIG_FILE}`) : await readBlob(targetEntries.get(CATALOG_CONFIG_FILE));
  const publicCatalogue = options.publicOnly === true || visibilityOf(configText) === 'public';
  // A sync holds the shared catalogue to public whatever an upstream's file says (publicOnly): only
  // where the file's own setting is the rule (hooks, CI) may a change not loosen it.
  if (options.publicOnly !== true && (changes.modified.includes(CATALOG_CONFIG_FILE) || changes.deleted.includes(CATALOG_CONFIG_FILE))) {
    const flipped = visibilityChangeProblem(visibilityOf(configText), visibilityOf(await readBlob(targetEntries.get(CATALOG_CONFIG_FILE))));
    if (flipped) problems.push(flipped);
  }

  const addedSet = new Set(changes.added);
  const modifiedSet = new Set(changes.modified);
  for (const path of changes.added) {
    for (const twin of tree.caseTwins(path)) {
      // Name the newcomer: the file already there is not the one to rename (two newcomers: once).
      if (addedSet.has(twin) && twin < path) continue;
      problems.push({ file: path, field: '(file)', rule: 'case-collision', expected: 'a path unique regardless of case', message: `collides with ${twin} on a case-insensitive file system` });
    }
  }

  const lookupTarget = async (id: string): Promise<ImageRecord | undefined> => parse(await readBlob(targetEntries.get(recordPath(id))));

  for (const path of [...changes.added, ...changes.modified]) {
    if (!path.startsWith(`${IMAGES_DIR}/`)) continue;
    if (path === `${IMAGES_DIR}/.gitkeep`) continue;
    if (!idFromPath(path)) {
      problems.push({ file: path, field: '(file)', rule: 'layout', expected: 'images/<first two characters of the id>/<id>.json', message: 'not where an image record belongs' });
      continue;
    }
    const checked = checkRecordFile(ctx.schema, path, (await readBlob(targetEntries.get(path))) ?? '');
    problems.push(...checked.problems);
    const record = checked.record;
    if (!record) continue;
    const fileProblem = (field: string, rule: string, expected: string, message: string) => problems.push({ file: path, field, rule, expected, message });

    if (publicCatalogue && record.access === 'private') problems.push(privateInPublic(path));
    const before = modifiedSet.has(path) ? parse(await readBlob(baseBlob(path))) : undefined;
    if (before) {
      const b = before as unknown as Record<string, unknown>;
      const a = record as unknown as Record<string, unknown>;
      for (const field of IMMUTABLE_FIELDS) {
        if (b[field] !== undefined && !isDeepStrictEqual(b[field], a[field])) {
          const rule = field === 'owner' || field === 'origin' || field === 'created_at' ? 'id-collision-or-immutable' : 'immutable';
          fileProblem(field, rule, `${JSON.stringify(b[field])} (unchanged)`, `${field} cannot change once set (was ${JSON.stringify(b[field])}, now ${JSON.stringify(a[field])}); publish a new image instead`);
        }
      }
      if ((before.type === 'kernel' || before.type === 'ramdisk') && record.type !== before.type) {
        const users = tree.referrersOf(record.id).filter((u) => u.as === before.type).map((u) => u.id);
        if (users.length > 0) fileProblem('type', 'referenced', before.type, `is the ${before.type} of ${users.join(', ')}; its type cannot change`);
      }
    }
    const refs = new Map<string, ImageRecord | undefined>();
    for (const ref of [record.kernel, record.ramdisk, record.built_from, record.deprecation?.replaced_by]) {
      if (ref !== undefined) refs.set(ref, await lookupTarget(ref));
    }
    const lookup = { record: (id: string) => refs.get(id), namesakes: (series: string, owner: string, name: string, self: string) => imageIds(tree.namesakes(series, owner, name).filter((id) => id !== self)) };
    for (const p of recordProblems(record, lookup, before)) problems.push({ file: path, ...p });
  }

  const targetText = async (path: string) => readBlob(targetEntries.get(path));
  const changedSet = new Set([...changes.added, ...changes.modified, ...changes.deleted]);
  // The base's text of a file the change left alone is the target's (a diff names only what changed).
  const baseText = async (path: string) => (changedSet.has(path) ? readBlob(baseBlob(path)) : targetText(path));
  const rootHistory = base.kind === 'commit' && target.kind === 'commit' ? () => trustFilesAlong(ctx.git, ctx.reader, base.rev, target.rev) : undefined;
  problems.push(...(await statementChangeProblems(changes, { text: targetText, baseText, ...(rootHistory ? { rootHistory } : {}), record: lookupTarget })));

  for (const path of changes.deleted) {
    const id = idFromPath(path);
    if (!id) continue;
    for (const user of tree.referrersOf(id)) {
      problems.push({ file: path, field: '(file)', rule: 'referenced', expected: 'an image nothing references', message: `cannot be deleted: it is the ${user.as} of ${user.id}` });
    }
  }
  return { problems, changes };
}

/** A version of the catalogue listed in full, with the facts of every record (cached by blob id). */
export async function treeFactsOf(ctx: ChangeCheckContext, ref: TreeRef): Promise<TreeFacts> {
  const entries = await listTree(ctx.git, ref);
  return new TreeFacts(entries, await ctx.facts.forTree(entries, ctx.reader));
}

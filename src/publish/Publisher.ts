import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';
import { FsStore } from '../store/fs/FsStore.ts';
import { hashedCopy } from '../image-files/HashedCopy.ts';
import { FormatInspection } from '../inspection/FormatInspection.ts';
import { DEFAULT_MAX_VIRTUAL_SIZE, verdictOn } from '../inspection/InspectionVerdict.ts';
import { ImageSchema } from '../catalog/ImageSchema.ts';
import { recordPath } from '../catalog/CatalogLayout.ts';
import { serializeRecord } from '../catalog/RecordFile.ts';
import { INSTANCE_FIELDS, type ImageInput, type ImageInspection, type ImageRecord } from '../api/ImageRecord.ts';
import type { VisorClient } from '../client/VisorClient.ts';
import { conflict, invalidField, unavailable } from '../errors/VisorError.ts';

export interface PublishOptions {
  /** The publisher's clone of the catalogue. */
  repo: string;
  disk: string;
  metadata: ImageInput & { name: string };
  /** Where the bytes go: a VISOR daemon (which also registers the image), or a filesystem store folder. */
  target: { daemon: VisorClient } | { storeDir: string; storeName: string; owner: string };
  remote: string;
  /** The upstream's branch the publish starts from (default main). */
  base?: string;
  branch?: string;
  push: boolean;
}

export interface Published {
  record: ImageRecord;
  file: string;
  branch: string;
  commit: string;
  pushed: boolean;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'image';
}

/**
 * Streams a disk into a filesystem store under a new id, hashing and format-inspecting it on the way
 * (the daemon's rules and default cap): a refused disk leaves nothing in the store.
 */
async function storeDisk(disk: string, declared: string | undefined, storeDir: string, storeName: string): Promise<{ id: string; size: number; checksum: string; inspection: ImageInspection; remove: () => Promise<void> }> {
  const id = randomUUID();
  const store = new FsStore({ name: storeName, path: storeDir });
  await store.init();
  const write = await store.write(id);
  try {
    const inspection = new FormatInspection();
    const copied = await hashedCopy(createReadStream(disk), write.stream, 'sha256', Number.MAX_SAFE_INTEGER, { observe: (chunk) => inspection.push(chunk) });
    const found = verdictOn(inspection.finish(), declared, { maxVirtualSize: DEFAULT_MAX_VIRTUAL_SIZE });
    await write.commit();
    return { id, size: copied.bytes, checksum: copied.checksum, inspection: found, remove: () => store.delete(id) };
  } catch (e) {
    await write.abort();
    throw e;
  }
}

/** Where the new branch starts: the upstream's main as it is now, fetched first. */
async function upstreamBase(git: GitRunner, remote: string, base: string, mustReach: boolean): Promise<string> {
  const tracking = `refs/remotes/${remote}/${base}`;
  const fetched = await git.run(['fetch', '--quiet', '--no-tags', remote, `+refs/heads/${base}:${tracking}`]).then(
    () => undefined,
    (e: Error) => e,
  );
  if (fetched && mustReach) throw unavailable(`cannot fetch ${base} from ${remote} to publish on top of it: ${fetched.message}`, fetched);
  const commit = await git.revParse(tracking);
  if (!commit) throw invalidField('remote', 'reachable', `a remote whose ${base} branch can be fetched`, `no ${tracking} to publish on top of${fetched ? `: ${fetched.message}` : ''}`);
  return commit;
}

/**
 * Commits the record on a new branch that starts at `base`, in a worktree of its own: the
 * publisher's checkout, index and current branch are never touched, and the clone's hooks check
 * the commit as they would any other. The branch exists only once the commit does.
 */
async function commitOnBranch(git: GitRunner, base: string, branch: string, file: string, content: string, message: string): Promise<string> {
  if (await git.revParse(`refs/heads/${branch}`)) throw conflict(`branch ${branch} exists already: pick another with --branch`);
  const worktree = await mkdtemp(join(tmpdir(), 'visor-publish-'));
  await git.run(['worktree', 'add', '--quiet', '--detach', worktree, base]);
  try {
    await mkdir(dirname(join(worktree, file)), { recursive: true });
    await writeFile(join(worktree, file), content);
    const inWorktree = new GitRunner(worktree);
    await inWorktree.run(['add', '--', file]);
    await inWorktree.run(['commit', '--quiet', '-m', message]);
    const commit = (await inWorktree.revParse('HEAD'))!;
    await git.run(['branch', branch, commit]);
    return commit;
  } finally {
    await git.run(['worktree', 'remove', '--force', worktree]).catch(() => undefined);
    await rm(worktree, { recursive: true, force: true });
  }
}

/**
 * Publishing from a publisher's clone: the disk goes to its store first, then the metadata (with
 * the digest and size computed on the way) is committed on a new branch from the upstream's main
 * and pushed, ready to be proposed as a pull request: one publish, one reviewable change. Nothing
 * is public before that change is merged (a daemon holds the image privately meanwhile), and a
 * publish that fails anywhere leaves nothing behind: no branch, no stored disk, no image.
 */
export async function publish(options: PublishOptions): Promise<Published> {
  // Names handed to git as arguments: never options git would act on.
  for (const [field, value] of [['remote', options.remote], ['branch', options.branch], ['base', options.base]] as const) {
    if (value?.startsWith('-')) throw invalidField(field, 'pattern', 'a name, not an option', `${field} ${value}: a name, not an option`);
  }
  const schema: ImageSchema = new ImageSchema();
  const git = new GitRunner(options.repo);
  const base = await upstreamBase(git, options.remote, options.base ?? 'main', options.push);
  let record: ImageRecord;
  let undo: () => Promise<unknown>;
  if ('daemon' in options.target) {
    const daemon = options.target.daemon;
    // Private on the daemon until the reviewed record is merged: the pull request is the review.
    const created = await daemon.create({ ...options.metadata, access: 'private' });
    undo = () => daemon.delete(created.id);
    let uploaded: ImageRecord;
    try {
      uploaded = (await daemon.upload(created.id, options.disk)) as unknown as ImageRecord;
    } catch (e) {
      await undo().catch(() => undefined);
      throw e;
    }
    const stored: Record<string, unknown> = { ...uploaded, access: 'public' };
    for (const f of INSTANCE_FIELDS) delete stored[f];
    record = stored as unknown as ImageRecord;
  } else {
    // Check the metadata before moving any bytes: a refused image must leave nothing in the store.
    const now0 = new Date().toISOString();
    schema.assertValid({ ...options.metadata, access: 'public', id: randomUUID(), status: 'locked', owner: options.target.owner, created_at: now0, updated_at: now0 }, 'image');
    const { id, size, checksum, inspection, remove } = await storeDisk(options.disk, options.metadata.disk, options.target.storeDir, options.target.storeName);
    undo = remove;
    const now = new Date().toISOString();
    record = { ...options.metadata, access: 'public', id, status: 'available', owner: options.target.owner, created_at: now, updated_at: now, uploaded_at: now, size, checksum, virtual_size: inspection.virtual_size, inspection, store: options.target.storeName, locations: [{ store: options.target.storeName, key: id }] } as ImageRecord;
  }

  const branch = options.branch ?? `publish/${slug(record.name)}-${record.id.slice(0, 8)}`;
  const file = recordPath(record.id);
  let commit: string | undefined;
  try {
    schema.assertValid(record, 'image');
    commit = await commitOnBranch(git, base, branch, file, serializeRecord(record, schema), `Publish image ${record.id} "${record.name}"`);
    if (options.push) await git.run(['push', '--quiet', options.remote, `${branch}:refs/heads/${branch}`]);
  } catch (e) {
    if (commit) await git.run(['branch', '-D', branch]).catch(() => undefined);
    await undo().catch(() => undefined);
    throw e;
  }
  return { record, file, branch, commit, pushed: options.push };
}

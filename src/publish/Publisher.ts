import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';
import { FsStore } from '../store/fs/FsStore.ts';
import { hashedCopy } from '../image-files/HashedCopy.ts';
import { ImageSchema } from '../catalog/ImageSchema.ts';
import { recordPath } from '../catalog/CatalogLayout.ts';
import { serializeRecord } from '../catalog/RecordFile.ts';
import { INSTANCE_FIELDS, type ImageInput, type ImageRecord } from '../api/ImageRecord.ts';
import type { VisorClient } from '../client/VisorClient.ts';

export interface PublishOptions {
  /** The publisher's clone of the catalogue. */
  repo: string;
  disk: string;
  metadata: ImageInput & { name: string };
  /** Where the bytes go: a VISOR daemon (which also registers the image), or a filesystem store folder. */
  target: { daemon: VisorClient } | { storeDir: string; storeName: string; owner: string };
  remote: string;
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

/** Streams a disk into a filesystem store under a new id, hashing on the way. */
async function storeDisk(disk: string, storeDir: string, storeName: string): Promise<{ id: string; size: number; checksum: string }> {
  const id = randomUUID();
  const store = new FsStore({ name: storeName, path: storeDir });
  await store.init();
  const write = await store.write(id);
  try {
    const copied = await hashedCopy(createReadStream(disk), write.stream, 'sha256', Number.MAX_SAFE_INTEGER);
    await write.commit();
    return { id, size: copied.bytes, checksum: copied.checksum };
  } catch (e) {
    await write.abort();
    throw e;
  }
}

/**
 * Publishing from a publisher's clone: the disk goes to its store first, then the metadata (with
 * the digest and size computed on the way) is committed on a new branch and pushed, ready to be
 * proposed as a pull request. The clone's pre-commit hook, if installed, checks the commit.
 */
export async function publish(options: PublishOptions): Promise<Published> {
  const schema: ImageSchema = new ImageSchema();
  let record: ImageRecord;
  if ('daemon' in options.target) {
    const created = await options.target.daemon.create({ ...options.metadata, access: 'public' });
    const uploaded = await options.target.daemon.upload(created.id, options.disk);
    const stored: Record<string, unknown> = { ...uploaded };
    for (const f of INSTANCE_FIELDS) delete stored[f];
    record = stored as unknown as ImageRecord;
  } else {
    // Check the metadata before moving any bytes: a refused image must leave nothing in the store.
    const now0 = new Date().toISOString();
    schema.assertValid({ ...options.metadata, access: 'public', id: randomUUID(), status: 'locked', owner: options.target.owner, created_at: now0, updated_at: now0 }, 'image');
    const { id, size, checksum } = await storeDisk(options.disk, options.target.storeDir, options.target.storeName);
    const now = new Date().toISOString();
    record = { ...options.metadata, access: 'public', id, status: 'available', owner: options.target.owner, created_at: now, updated_at: now, uploaded_at: now, size, checksum, store: options.target.storeName, locations: [{ store: options.target.storeName, key: id }] } as ImageRecord;
  }
  schema.assertValid(record, 'image');

  const git = new GitRunner(options.repo);
  const branch = options.branch ?? `publish/${slug(record.name)}-${record.id.slice(0, 8)}`;
  const file = recordPath(record.id);
  await git.run(['checkout', '--quiet', '-b', branch]);
  await mkdir(dirname(join(options.repo, file)), { recursive: true });
  await writeFile(join(options.repo, file), serializeRecord(record, schema));
  await git.run(['add', '--', file]);
  await git.run(['commit', '--quiet', '-m', `Publish image ${record.id} "${record.name}"`]);
  const commit = (await git.revParse('HEAD'))!;
  if (options.push) await git.run(['push', '--quiet', options.remote, `${branch}:refs/heads/${branch}`]);
  return { record, file, branch, commit, pushed: options.push };
}

import { createHash, randomBytes } from 'node:crypto';
import { open, rename, mkdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export type ObjectFormat = 'sha1' | 'sha256';

/**
 * Writes one object into a repository as git does (`git hash-object -w`): zlib-deflated
 * "<type> <size>\0<body>" under objects/<2 hex>/<rest>, made durable (fsync) under a temporary name
 * and then renamed, so a crash leaves either nothing or the whole object. Answers its id.
 * In-process because the daemon writes one per commit, and a git process costs 2–5 ms to start.
 */
export async function writeLooseObject(gitDir: string, type: 'commit' | 'blob', body: Buffer, format: ObjectFormat): Promise<string> {
  const object = Buffer.concat([Buffer.from(`${type} ${body.length}\0`), body]);
  const oid = createHash(format).update(object).digest('hex');
  const dir = join(gitDir, 'objects', oid.slice(0, 2));
  const target = join(dir, oid.slice(2));
  if (await stat(target).then(() => true, () => false)) return oid;
  // git's own prefix for temporary objects: what a crash leaves, gc removes.
  const temp = join(dir, `tmp_obj_${randomBytes(6).toString('hex')}`);
  const file = await createIn(dir, temp);
  try {
    await file.writeFile(deflateSync(object));
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temp, target).catch(async (error: unknown) => {
    await unlink(temp).catch(() => undefined);
    throw error;
  });
  return oid;
}

/** Attempts at creating a temporary object while a repack keeps removing its emptied folder. */
const CREATE_ATTEMPTS = 5;

/**
 * Creates `temp` in the object folder `dir`, making the folder first. A repack (git prune-packed)
 * removes the folders it empties, so the folder can vanish between the two: then it is made again,
 * as git itself does. Once the file is in it, the folder is not empty and stays.
 */
async function createIn(dir: string, temp: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dir, { recursive: true });
    try {
      return await open(temp, 'wx', 0o444);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === CREATE_ATTEMPTS) throw error;
    }
  }
}

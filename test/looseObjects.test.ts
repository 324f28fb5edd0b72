import test from 'ava';
import { createHash } from 'node:crypto';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeLooseObject } from '../src/git/LooseObjects.ts';
import { git, tempDir } from './helpers/gitRepos.ts';

test('a loose object written while a repack removes the object folders it emptied is still written: the folder is made again', async (t) => {
  const dir = await tempDir('visor-loose-');
  git(dir, 'init', '-q');
  const gitDir = join(dir, '.git');
  const bodies = Array.from({ length: 200 }, (_, i) => Buffer.from(`object ${i}\n`));
  const folderOf = (body: Buffer) => join(gitDir, 'objects', createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex').slice(0, 2));
  let writing: Buffer | undefined;
  let removed: Buffer | undefined;
  let done = false;
  // What a repack's git prune-packed does to a folder it finds empty: removes it, once a pass. Here
  // one pass for each write, trying until the folder written to is found empty (made, no file yet).
  const remover = (async () => {
    while (!done) {
      const body = writing;
      if (body && removed !== body && (await rmdir(folderOf(body)).then(() => true, () => false))) removed = body;
      else await new Promise(setImmediate);
    }
  })();
  const ids: string[] = [];
  try {
    for (const body of bodies) {
      writing = body;
      ids.push(await writeLooseObject(gitDir, 'blob', body, 'sha1'));
    }
  } finally {
    done = true;
    await remover;
  }
  t.is(ids.length, bodies.length);
  const contents = ids.map((id) => git(dir, 'cat-file', 'blob', id));
  t.deepEqual(contents, bodies.map((b) => b.toString()));
});

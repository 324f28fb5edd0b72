import test from 'ava';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitObjectReader } from '../src/git/GitObjectReader.ts';
import { git, tempDir } from './helpers/gitRepos.ts';

test('objects of any size read back byte for byte, in order, between small ones and missing ones', async (t) => {
  const dir = await tempDir('visor-reader-');
  git(dir, 'init', '-q');
  const blobs: Buffer[] = [Buffer.from('{"small":1}\n'), randomBytes(12 * 1024 * 1024 + 7), Buffer.alloc(0), randomBytes(65_537), Buffer.from('\n\n')];
  const oids: string[] = [];
  for (const [i, blob] of blobs.entries()) {
    const file = join(dir, `blob-${i}`);
    await writeFile(file, blob);
    oids.push(git(dir, 'hash-object', '-w', file).trim());
  }
  const reader = new GitObjectReader(dir);
  try {
    // All asked at once: answers arrive in chunks that cut through headers and bodies alike.
    const missing = '0'.repeat(40);
    const answers = await Promise.all([...oids.map((oid) => reader.object(oid)), reader.object(missing), reader.object(oids[0]!)]);
    for (const [i, blob] of blobs.entries()) {
      t.is(answers[i]?.type, 'blob');
      t.is(answers[i]?.oid, oids[i]);
      t.true(answers[i]?.body.equals(blob), `object ${i} (${blob.length} bytes) is read whole`);
    }
    t.is(answers[blobs.length], undefined, 'a missing object is undefined, and the reads after it go on');
    t.true(answers[blobs.length + 1]?.body.equals(blobs[0]!));
  } finally {
    reader.close();
  }
});

/**
 * What an upstream catalogue brings in by sync cannot reach this instance's images: a synced record
 * that names another image's object in a store VISOR writes to (or one written under another image's
 * id) does not serve or copy those bytes, and a synced record with a private image's id does not
 * replace it.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { git, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { createImage, sha256, unique, uploadFile } from './helpers/images.ts';

let d: TestDaemon;
let upstream: string;

test.before(async () => {
  upstream = join(await tempDir(), 'public');
  await initCatalog(upstream);
  // A public catalogue, as an upstream is (a daemon's shared catalogue refuses to follow a private one).
  const config = join(upstream, 'visor-catalog.json');
  await writeFile(config, `${JSON.stringify({ ...(JSON.parse(await readFile(config, 'utf8')) as object), visibility: 'public' }, null, 2)}\n`);
  git(upstream, 'add', 'visor-catalog.json');
  git(upstream, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  d = await startTestDaemon({ config: { stores: { fs: { type: 'fs' }, fs2: { type: 'fs' } }, upstreams: { public: { url: upstream, interval_seconds: 0 } } } });
});
test.after.always(() => d?.stop());

async function publishAndSync(records: Array<Record<string, unknown>>): Promise<void> {
  for (const r of records) await writeRecordFile(upstream, { origin: 'upstream.example', ...r });
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '-m', 'publish');
  const res = await call(d, d.token, 'POST', '/sync');
  const results = (res.json as { results?: Array<{ mode: string }> }).results;
  if (res.status !== 200 || results?.some((r) => r.mode === 'refused')) throw new Error(res.text);
}

test("a synced record naming a local image's object serves none of its bytes, to anyone, nor copies them", async (t) => {
  const victims = await Promise.all(
    (['private', 'public'] as const).map(async (access) => {
      const data = randomBytes(3000);
      const id = await createImage(d, d.token, { name: unique('victim'), access });
      await uploadFile(d, d.token, id, data);
      return { id, data };
    }),
  );
  const borrowers = victims.map((v) => imageRecord({ name: unique('borrower'), owner: 'admin', size: v.data.length, checksum: sha256(v.data), store: 'fs', locations: [{ store: 'fs', key: v.id }] }));
  await publishAndSync(borrowers);
  for (const [i, b] of borrowers.entries()) {
    t.is((await call(d, undefined, 'GET', `/images/${b.id}`)).status, 200, 'the synced record is there');
    for (const headers of [{}, { range: 'bytes=0-99' }] as Array<Record<string, string>>) {
      const download = await call(d, undefined, 'GET', `/images/${b.id}/file`, undefined, headers);
      t.false(download.bytes.includes(victims[i]!.data.subarray(0, 64)), `served the victim's bytes (${download.status})`);
      t.is(download.status, 409);
      t.regex(download.text, /has no location in a store this daemon has/);
    }
    // Its owner's name is the admin's here, but it is the upstream's admin: nobody here may copy files under it.
    const copy = await call(d, d.token, 'POST', `/images/${b.id}/copy`, { to: 'fs2' });
    t.is(copy.status, 403, copy.text);
    const after = (await call(d, d.token, 'GET', `/images/${b.id}`)).json as { locations: unknown[] };
    t.is(after.locations.length, 1, 'nothing was copied');
  }
  for (const v of victims) {
    const own = await call(d, d.token, 'GET', `/images/${v.id}/file`);
    t.is(sha256(own.bytes), sha256(v.data), "the victim's own download is untouched");
  }
});

test("a synced record with a private image's id does not replace it", async (t) => {
  const id = await createImage(d, d.token, { name: unique('private'), access: 'private' });
  await publishAndSync([imageRecord({ id, name: unique('impostor'), owner: 'mallory', access: 'public' })]);
  t.is((await call(d, undefined, 'GET', `/images/${id}`)).status, 404);
  t.is(((await call(d, d.token, 'GET', `/images/${id}`)).json as { owner: string }).owner, 'admin');
});

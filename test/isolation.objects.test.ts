/**
 * No request lets a caller read, replace or remove the bytes of an image they may not change: in a
 * store VISOR writes to, only admins may register an object VISOR did not write for the image (the
 * same refusal whatever the key), and even they cannot register one another image names (refused
 * exactly like a missing object). An object is deleted only when no image names it.
 */
import test from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, sha256, storedFile, unique, uploadFile } from './helpers/images.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { StoredObjects } from '../src/image-files/StoredObjects.ts';
import { GuardedStore } from '../src/store/GuardedStore.ts';
import { MemoryStore } from '../src/store/memory/MemoryStore.ts';
import { CatalogIndex } from '../src/catalog/CatalogIndex.ts';
import type { ImageRecord } from '../src/api/ImageRecord.ts';

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon();
});
test.after.always(() => d?.stop());

const codeOf = (json: unknown) => (json as { error: { code: string } }).error.code;

for (const access of ['public', 'private'] as const) {
  test(`a stranger cannot take over a ${access} image's object: refused as any other key, and deleting their image leaves the victim whole`, async (t) => {
    const data = randomBytes(5000);
    const victim = await createImage(d, d.token, { name: unique('victim'), access });
    const uploaded = await uploadFile(d, d.token, victim, data);
    const mallory = await addUser(d, unique('mallory'));
    const own = await createImage(d, mallory, { name: unique('mine') });

    const taken = await call(d, mallory, 'POST', `/images/${own}/locations`, { store: 'fs', key: victim });
    const absent = await call(d, mallory, 'POST', `/images/${own}/locations`, { store: 'fs', key: randomUUID() });
    t.is(taken.status, 403);
    t.is(absent.status, 403);
    t.is(codeOf(taken.json), codeOf(absent.json));
    t.regex(taken.text, /only admins may register an object of store fs/);

    t.is((await call(d, mallory, 'DELETE', `/images/${own}`)).status, 200);
    const download = await call(d, d.token, 'GET', `/images/${victim}/file`);
    t.is(download.status, 200);
    t.is(sha256(download.bytes), sha256(data));
    t.deepEqual(await readFile(await storedFile(d.dataDir, uploaded as { locations: Array<{ key: string }> })), data);
  });
}

test('a commit grantee of the victim cannot register its object under their own image either; anonymous callers are asked to sign in', async (t) => {
  const victim = await createImage(d, d.token, { name: unique('shared'), access: 'private' });
  await uploadFile(d, d.token, victim, randomBytes(100));
  const name = unique('grantee');
  const grantee = await addUser(d, name);
  await grant(d, d.token, victim, 'users', name, 'commit');
  const own = await createImage(d, grantee, { name: unique('grantees') });
  t.is((await call(d, grantee, 'POST', `/images/${own}/locations`, { store: 'fs', key: victim })).status, 403);
  t.is((await call(d, undefined, 'POST', `/images/${own}/locations`, { store: 'fs', key: victim })).status, 401);
  // The owner may not alias one of their images' objects under another of theirs: a delete of one would take the other's bytes.
  const second = await createImage(d, d.token, { name: unique('alias') });
  t.is((await call(d, d.token, 'POST', `/images/${second}/locations`, { store: 'fs', key: victim })).status, 404);
});

test('a taken key and a missing one cost the same work: the store is asked about each before the refusal', async (t) => {
  const victim = await createImage(d, d.token, { name: unique('timed'), access: 'private' });
  await uploadFile(d, d.token, victim, randomBytes(100));
  // An admin, the only caller who gets this far with another key; a user is refused before any lookup.
  const mallory = await addUser(d, unique('admin'), { role: 'admin' });
  const own = await createImage(d, mallory, { name: unique('prober') });
  const store = d.daemon.core.storeDirectory.stores.get('fs')!;
  const asked: string[] = [];
  const stat = store.stat.bind(store);
  store.stat = (key: string) => {
    asked.push(key);
    return stat(key);
  };
  try {
    const absentKey = randomUUID();
    // One after the other: file work on one image runs alone (a second at once is a 409).
    const taken = await call(d, mallory, 'POST', `/images/${own}/locations`, { store: 'fs', key: victim });
    const absent = await call(d, mallory, 'POST', `/images/${own}/locations`, { store: 'fs', key: absentKey });
    t.deepEqual([taken.status, absent.status], [404, 404]);
    t.is(taken.text.replace(victim, '<key>'), absent.text.replace(absentKey, '<key>'), 'the same answer but for the key');
    t.deepEqual(asked.sort(), [victim, absentKey].sort(), 'one stat of each key');
  } finally {
    store.stat = stat;
  }
});

test("an object is deleted only when it is the image's own and no other image names it", async (t) => {
  const store = new GuardedStore(new MemoryStore({ name: 'm' }));
  for (const key of ['a', 'foreign']) {
    const w = await store.write(key);
    w.stream.end(Buffer.from('bytes'));
    await w.commit();
  }
  const names = new Map<string, string[]>([['a', ['a', 'b']]]);
  const objects = new StoredObjects({ stores: new Map([['m', store]]), namedElsewhere: (_s, key, except) => (names.get(key) ?? []).some((id) => id !== except) });
  await objects.discard('a', [{ store: 'm', key: 'a' }, { store: 'm', key: 'foreign' }]);
  t.truthy(await store.stat('a'), 'image b still names it');
  t.truthy(await store.stat('foreign'), 'an object registered from elsewhere is not VISOR\'s to delete');
  names.set('a', ['a']);
  await objects.discard('a', [{ store: 'm', key: 'a' }]);
  t.is(await store.stat('a'), undefined);
});

test('an object VISOR did not write (another application\'s, in a shared store) is an admin\'s to register, and deleting the image leaves it in the store', async (t) => {
  const mallory = await addUser(d, unique('mallory'));
  const key = unique('shared-bucket-object');
  const path = join(d.dataDir, 'images', key.slice(0, 2), key);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, 'not visor\'s');
  const borrowed = await createImage(d, mallory, { name: unique('borrower') });
  t.is((await call(d, mallory, 'POST', `/images/${borrowed}/locations`, { store: 'fs', key })).status, 403, 'a user may not read it out through an image of theirs');
  const own = await createImage(d, d.token, { name: unique('imported') });
  t.is((await call(d, d.token, 'POST', `/images/${own}/locations`, { store: 'fs', key })).status, 200);
  t.is((await call(d, d.token, 'DELETE', `/images/${own}`)).status, 200);
  t.is(await readFile(path, 'utf8'), 'not visor\'s');
});

test("the index knows every image naming an object, through puts, replacements and deletes, as a full scan would", (t) => {
  const ids = Array.from({ length: 6 }, () => randomUUID());
  const keys = [...ids.slice(0, 3), 'shared/a.img', 'shared/b.img'];
  const record = (id: string, locations: Array<{ store: string; key: string }>) => ({ id, name: id, status: 'available', access: 'public', owner: 'pat', created_at: '', updated_at: '', locations }) as ImageRecord;
  const index = new CatalogIndex([record(ids[0]!, [{ store: 'fs', key: ids[0]! }])]);
  const scan = (store: string, key: string, except?: string) => [...index.all()].filter((r) => r.id !== except && r.locations?.some((l) => l.store === store && l.key === key)).map((r) => r.id).sort();
  const agree = (step: string) => {
    for (const store of ['fs', 'web']) for (const key of keys) for (const except of [undefined, ...ids]) t.deepEqual(index.namersOf(store, key, except).map((r) => r.id).sort(), scan(store, key, except), `${step}: ${store}/${key} except ${except}`);
  };
  agree('start');
  // mulberry32: the same sequence every run.
  let seed = 7;
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  for (let step = 0; step < 60; step++) {
    const id = pick(ids);
    if (pick([true, false, false])) index.delete(id);
    else index.put(record(id, Array.from({ length: pick([0, 1, 2, 3]) }, () => ({ store: pick(['fs', 'web']), key: pick(keys) }))));
    agree(`step ${step}`);
  }
});

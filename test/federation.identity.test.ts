import test from 'ava';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InstanceIdentity } from '../src/federation/InstanceIdentity.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { addUser } from './helpers/accounts.ts';
import { runVisor } from './helpers/cli.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { gitAsync, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { call } from './helpers/http.ts';
import { createImage, sha256, uploadFile } from './helpers/images.ts';

/**
 * (Serial: every test syncs the same pair.) Three instances on loopback: a public instance, a private one following it over its Git
 * endpoint, and a plain `git clone` mirror of the private one. Each has an account named alice;
 * they are three different people.
 */
let pub: TestDaemon;
let corp: TestDaemon;
const keys = { pubAlice: '', pubBob: '', corpAlice: '', corpStranger: '' };

test.before(async () => {
  pub = await startTestDaemon({ config: { instance_name: 'pub.example' } });
  corp = await startTestDaemon({ config: { instance_name: 'corp.example', upstreams: { pub: { url: `${pub.url}/catalog.git`, interval_seconds: 0 } } } });
  keys.pubAlice = await addUser(pub, 'alice');
  keys.pubBob = await addUser(pub, 'bob');
  keys.corpAlice = await addUser(corp, 'alice');
  keys.corpStranger = await addUser(corp, 'stranger');
});
test.after.always(async () => {
  await corp?.stop();
  await pub?.stop();
});

interface SyncResult {
  mode: string;
  conflicts: Array<{ path: string; resolution: string }>;
  problems: unknown[];
}

async function sync(): Promise<SyncResult> {
  const answer = await call(corp, corp.token, 'POST', '/sync?upstream=pub');
  return (answer.json as { results: SyncResult[] }).results[0]!;
}

async function available(d: TestDaemon, key: string, fields: Record<string, unknown>): Promise<string> {
  const id = await createImage(d, key, { disk: 'raw', access: 'public', ...fields });
  await uploadFile(d, key, id, Buffer.from(`bytes of ${String(fields['name'])}`));
  return id;
}

test.serial("a namesake here holds no authority over an upstream's image: alice here cannot change, grant or hide it, nor can the admin", async (t) => {
  const x = await createImage(pub, keys.pubAlice, { name: 'x-image', access: 'public', description: 'by alice of pub' });
  const first = await sync();
  t.deepEqual(first.problems, []);
  t.not(first.mode, 'refused');
  const shown = (await call(corp, keys.corpAlice, 'GET', `/images/${x}`)).json as Record<string, unknown>;
  t.like(shown, { owner: 'alice', origin: 'pub.example', description: 'by alice of pub' });

  for (const [who, key] of [['alice here', keys.corpAlice], ['the admin here', corp.token]] as const) {
    for (const [method, path, body] of [
      ['PUT', `/images/${x}`, { access: 'private' }],
      ['PUT', `/images/${x}`, { description: 'taken over' }],
      ['PUT', `/images/${x}/grants/users/stranger`, { permission: 'commit' }],
      ['DELETE', `/images/${x}`, undefined],
    ] as const) {
      const answer = await call(corp, key, method, path, body);
      t.is(answer.status, 403, `${who}: ${method} ${path}`);
      t.regex(answer.text, /belongs to alice@pub\.example: only instance pub\.example can change it/);
    }
  }
  t.is((await call(corp, keys.corpAlice, 'GET', `/images/${x}/grants`)).status, 403, 'nor read its grants: those are pub\'s');
  t.is((await call(corp, undefined, 'PUT', `/images/${x}`, { access: 'private' })).status, 401);

  // Upstream changes keep arriving: the record was never rewritten here.
  t.is((await call(pub, keys.pubAlice, 'PUT', `/images/${x}`, { description: 'second edition' })).status, 200);
  t.is((await sync()).mode, 'fast-forward');
  t.like((await call(corp, undefined, 'GET', `/images/${x}`)).json, { description: 'second edition', access: 'public' });
});

test.serial("an upstream's images never take over a series used here; equal names in one series never block a sync", async (t) => {
  const mine = await available(corp, keys.corpAlice, { name: 'cirros-0.6.2', series: 'cirros' });
  // Upload times order the series: pub's come later, so newer.
  const theirs = await available(pub, keys.pubAlice, { name: 'cirros-0.6.2', series: 'cirros' });
  const bobs = await available(pub, keys.pubBob, { name: 'cirros-9.9', series: 'cirros' });
  const synced = await sync();
  t.is(synced.problems.length, 0, 'the same name in the same series by an upstream alice is no collision');
  t.true(['merge', 'fast-forward'].includes(synced.mode), synced.mode);
  for (const key of [undefined, keys.corpAlice, keys.corpStranger, corp.token]) {
    const latest = await call(corp, key, 'GET', '/series/cirros/latest');
    t.is(latest.status, 200, latest.text);
    t.is((latest.json as { id: string }).id, mine, "this instance's image stays the series' latest for every caller");
  }
  const named = await call(corp, undefined, 'GET', '/series/cirros/latest?owner=alice@pub.example');
  t.is((named.json as { id: string }).id, theirs, 'the upstream alice is named as alice@origin');
  t.is(((await call(corp, undefined, 'GET', '/series/cirros/latest?owner=bob@pub.example')).json as { id: string }).id, bobs);
  t.is((await call(corp, undefined, 'GET', '/series/cirros/latest?owner=bob')).status, 404, "bob here is nobody: pub's bob is bob@pub.example");
  // A later unrelated upstream change still arrives.
  const later = await createImage(pub, keys.pubBob, { name: 'unrelated', access: 'public' });
  t.not((await sync()).mode, 'refused');
  t.is((await call(corp, undefined, 'GET', `/images/${later}`)).status, 200);
});

test.serial("the site hides an upstream's image by policy, not by rewriting it: gone for everyone but admins, on every route, until offered again", async (t) => {
  const y = await available(pub, keys.pubAlice, { name: 'y-image' });
  await sync();
  const local = await createImage(corp, keys.corpAlice, { name: 'local', access: 'public' });
  const listed = async (key: string | undefined) => ((await call(corp, key, 'GET', '/images?limit=1000')).json as { images: Array<{ id: string }> }).images.some((i) => i.id === y);
  // Listed to everyone first: a page kept from these reads must not outlive the hiding.
  for (const key of [undefined, keys.corpAlice, keys.corpStranger]) t.true(await listed(key));

  t.is((await call(corp, undefined, 'PUT', `/policy/hidden/${y}`, { reason: 'x' })).status, 401);
  t.is((await call(corp, keys.corpAlice, 'PUT', `/policy/hidden/${y}`, { reason: 'x' })).status, 403);
  t.is((await call(corp, keys.corpAlice, 'GET', '/policy/hidden')).status, 403);
  t.is((await call(corp, undefined, 'GET', '/policy/hidden')).status, 401);
  t.is((await call(corp, keys.corpStranger, 'DELETE', `/policy/hidden/${y}`)).status, 403);
  const ownRefused = await call(corp, corp.token, 'PUT', `/policy/hidden/${local}`, { reason: 'x' });
  t.is(ownRefused.status, 400);
  t.regex(ownRefused.text, /this instance's own/);
  t.is((await call(corp, corp.token, 'PUT', `/policy/hidden/${y}`, {})).status, 400, 'a reason is required');
  t.is((await call(corp, corp.token, 'PUT', `/policy/hidden/${y}`, { reason: 'x', extra: 1 })).status, 400);

  const hidden = await runVisor(['hide', y, '--reason', 'not vetted here'], { env: { VISOR_URL: corp.url, VISOR_TOKEN: corp.token } });
  t.is(hidden.code, 0, hidden.stderr);
  for (const key of [undefined, keys.corpAlice, keys.corpStranger]) {
    for (const path of [`/images/${y}`, `/images/${y}/file`, `/images/${y}/history`]) t.is((await call(corp, key, 'GET', path)).status, 404, path);
    t.false(await listed(key));
  }
  t.is((await call(corp, corp.token, 'GET', `/images/${y}`)).status, 200, 'admins still see it');
  t.like((await call(corp, corp.token, 'GET', '/policy/hidden')).json, { hidden: [{ id: y, reason: 'not vetted here', by: 'admin' }] });

  // The upstream's record goes on changing; the policy holds.
  t.is((await call(pub, keys.pubAlice, 'PUT', `/images/${y}`, { description: 'patched' })).status, 200);
  t.not((await sync()).mode, 'refused');
  t.is((await call(corp, undefined, 'GET', `/images/${y}`)).status, 404);
  t.like((await call(corp, corp.token, 'GET', `/images/${y}`)).json, { description: 'patched' });

  t.is((await runVisor(['unhide', y], { env: { VISOR_URL: corp.url, VISOR_TOKEN: corp.token } })).code, 0);
  for (const key of [undefined, keys.corpAlice, keys.corpStranger]) t.true(await listed(key), 'listed again once offered');
  t.is((await call(corp, undefined, 'GET', `/images/${y}/file`)).status, 409, 'offered again (its bytes are the upstream\'s)');
  t.is((await call(corp, corp.token, 'DELETE', `/policy/hidden/${y}`)).status, 404, 'not hidden any more');
});

test.serial('a git clone mirror of the follower carries every record with its origin, so a third instance knows whose each is', async (t) => {
  await createImage(corp, keys.corpAlice, { name: 'from-corp', access: 'public' });
  await createImage(pub, keys.pubAlice, { name: 'from-pub', access: 'public' });
  await sync();
  const mirror = join(await tempDir(), 'mirror');
  await gitAsync(tmpdir(), 'clone', '-q', `${corp.url}/catalog.git`, mirror);
  const files = (await gitAsync(mirror, 'ls-files', 'images')).stdout.split('\n').filter((f) => f.endsWith('.json'));
  const origins = new Set<string>();
  for (const f of files) origins.add(String(JSON.parse((await gitAsync(mirror, 'show', `HEAD:${f}`)).stdout)['origin']));
  t.true(origins.has('corp.example') && origins.has('pub.example'));
  t.false(origins.has('undefined'), 'every record names its origin');
});

test('an instance keeps the name it started with: its records name it as their origin', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-instance-'));
  try {
    const first = await InstanceIdentity.open(dir, undefined);
    t.regex(first.name, /^visor-[0-9a-f]{10}$/);
    t.is((await InstanceIdentity.open(dir, undefined)).name, first.name);
    const renamed = await InstanceIdentity.open(dir, 'other.example').catch((e: unknown) => e);
    t.true(renamed instanceof VisorError);
    t.regex((renamed as Error).message, /belongs to instance visor-[0-9a-f]{10}; an instance cannot be renamed/);
    t.true(first.isHome({ owner: 'alice' }) && first.isHome({ owner: 'alice', origin: first.name }));
    t.false(first.isHome({ owner: 'alice', origin: 'pub.example' }));
    t.is(first.ownerName({ owner: 'alice', origin: 'pub.example' }), 'alice@pub.example');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});


test("another instance's record never serves an object of this instance's stores, whatever its locations name", async (t) => {
  // A record of another origin in the shared catalogue that no sync accounts for (this instance no
  // longer follows its upstream), naming an object left in the local store that no image names.
  const dataDir = await mkdtemp(join(tmpdir(), 'visor-foreign-'));
  const catalog = join(dataDir, 'catalog');
  await initCatalog(catalog, 'public');
  const stray = Buffer.from('bytes some other application left in the store folder');
  const record = imageRecord({ name: 'foreign', origin: 'elsewhere.example', size: stray.length, checksum: sha256(stray), locations: [{ store: 'fs', key: 'stray-object' }] });
  await writeRecordFile(catalog, record);
  await gitAsync(catalog, 'add', '-A');
  await gitAsync(catalog, 'commit', '-q', '-m', 'a record of another instance');
  await mkdir(join(dataDir, 'images', 'st'), { recursive: true });
  await writeFile(join(dataDir, 'images', 'st', 'stray-object'), stray);
  const d = await startTestDaemon({ dataDir });
  try {
    t.is((await call(d, undefined, 'GET', `/images/${record.id}`)).status, 200);
    for (const key of [undefined, d.token]) {
      const download = await call(d, key, 'GET', `/images/${record.id}/file`);
      t.is(download.status, 409, download.text);
      t.false(download.bytes.includes(stray), 'the stray object is not served under the foreign record');
    }
  } finally {
    await d.stop();
  }
});

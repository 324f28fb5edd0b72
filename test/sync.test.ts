import test from 'ava';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { jsonRequest, authed } from './helpers/http.ts';
import { git, gitAsync, tryGit, tempDir, imageRecord, writeRecordFile, readRecordFile, recordFile } from './helpers/gitRepos.ts';
import { createImage } from './helpers/images.ts';

interface SyncResult {
  upstream: string;
  mode: string;
  changed: string[];
  conflicts: Array<{ path: string; field?: string; ours?: unknown; theirs?: unknown; resolution: string }>;
  problems: Array<{ file: string; field: string; rule: string }>;
}

const UPSTREAM_INSTANCE = 'public.example';

/** A public catalogue somewhere (a plain repository), and a daemon following it. */
async function upstreamAndDaemon(): Promise<{ upstream: string; d: TestDaemon }> {
  const root = await tempDir();
  const upstream = join(root, 'public');
  await initCatalog(upstream);
  // Its own creator: two catalogues created by VISOR in the same second would share their first commit.
  git(upstream, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  const d = await startTestDaemon({ config: { upstreams: { public: { url: upstream, interval_seconds: 0 } } } });
  return { upstream, d };
}

/** Records of the upstream instance's accounts (their origin), as its daemon would write them. */
async function publish(upstream: string, records: Array<Record<string, unknown>>, message = 'publish'): Promise<void> {
  for (const r of records) await writeRecordFile(upstream, { origin: UPSTREAM_INSTANCE, ...r });
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '-m', message);
}

async function sync(d: TestDaemon): Promise<SyncResult> {
  const res = await fetch(`${d.url}/sync`, authed(d.token, { method: 'POST' }));
  const body = (await res.json()) as { results: SyncResult[] };
  return body.results[0]!;
}

async function names(d: TestDaemon): Promise<string[]> {
  const l = (await (await fetch(`${d.url}/images?sort=name&dir=asc&limit=1000`)).json()) as { images: { name: string }[] };
  return l.images.map((i) => i.name);
}

test('a daemon follows its upstream: the first sync merges it in, later ones fast-forward, the index follows', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    const a = imageRecord({ name: 'alpha' });
    const b = imageRecord({ name: 'bravo' });
    await publish(upstream, [a, b]);
    const first = await sync(d);
    t.is(first.mode, 'adopted', 'a fresh instance takes the upstream history as its own');
    t.deepEqual(await names(d), ['alpha', 'bravo']);

    await publish(upstream, [{ ...a, description: 'now described' }, imageRecord({ name: 'charlie' })]);
    git(upstream, 'rm', '-q', recordFile(b.id));
    git(upstream, 'commit', '-q', '-m', 'drop bravo');
    const second = await sync(d);
    t.is(second.mode, 'fast-forward');
    t.is(second.changed.length, 3);
    t.deepEqual(await names(d), ['alpha', 'charlie']);
    t.is(((await (await fetch(`${d.url}/images/${a.id}`)).json()) as { description: string }).description, 'now described');

    t.is((await sync(d)).mode, 'up-to-date');
  } finally {
    await d.stop();
  }
});

test('an instance with images of its own merges its upstream in', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    await createImage(d, d.token, { name: 'local-public', access: 'public' });
    await publish(upstream, [imageRecord({ name: 'from-upstream' })]);
    const result = await sync(d);
    t.is(result.mode, 'merge');
    t.deepEqual(await names(d), ['from-upstream', 'local-public']);
    t.true(result.conflicts.every((c) => !c.path.startsWith('images/')), 'only the catalogues\' own files (README, config) differed');
  } finally {
    await d.stop();
  }
});

test("an upstream's records are its own: nobody here changes them, and its changes keep arriving", async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    const a = imageRecord({ name: 'alpha', min_ram: 128 });
    await publish(upstream, [a]);
    await sync(d);
    // The admin here holds no authority over the upstream instance's image, nor does a namesake of its owner.
    const put = await fetch(`${d.url}/images/${a.id}`, jsonRequest(d.token, 'PUT', { name: 'local-name', access: 'private' }));
    t.is(put.status, 403);
    t.regex(((await put.json()) as { error: { message: string } }).error.message, new RegExp(`belongs to pat@${UPSTREAM_INSTANCE}: only instance ${UPSTREAM_INSTANCE} can change it`));
    t.is((await fetch(`${d.url}/images/${a.id}`, authed(d.token, { method: 'DELETE' }))).status, 403);
    await publish(upstream, [{ ...a, name: 'upstream-name', min_ram: 512 }]);
    const result = await sync(d);
    t.is(result.mode, 'fast-forward');
    const record = (await (await fetch(`${d.url}/images/${a.id}`)).json()) as Record<string, unknown>;
    t.like(record, { name: 'upstream-name', min_ram: 512, owner: 'pat', origin: UPSTREAM_INSTANCE, access: 'public' });
  } finally {
    await d.stop();
  }
});

test("an upstream cannot change or delete this instance's images, nor bring records in its name or without an origin; the rest of the sync arrives", async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    const mine = await createImage(d, d.token, { name: 'mine', access: 'public' });
    const doomed = await createImage(d, d.token, { name: 'doomed', access: 'public' });
    const local = (await (await fetch(`${d.url}/images/${mine}`)).json()) as Record<string, unknown>;
    const self = String(local['origin']);
    t.regex(self, /^visor-[0-9a-f]{10}$/, 'a new instance names itself, and its records carry the name');
    // The upstream's history holds this instance's records (as a publish would bring them there), then changes them.
    const stored = async (id: string) => {
      const { uri: _u, access_count: _c, accessed_at: _a, ...record } = (await (await fetch(`${d.url}/images/${id}`)).json()) as Record<string, unknown>;
      return record;
    };
    for (const id of [mine, doomed]) await writeRecordFile(upstream, await stored(id));
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'published from the private instance');
    t.is((await sync(d)).mode, 'merge', 'its own records, as they are here, change nothing');
    await writeRecordFile(upstream, { ...(await stored(mine)), description: 'rewritten upstream' });
    git(upstream, 'rm', '-q', recordFile(doomed));
    const forged = imageRecord({ name: 'forged', owner: 'admin', origin: self });
    const anonymous = imageRecord({ name: 'nameless' });
    const fine = imageRecord({ name: 'fine', origin: UPSTREAM_INSTANCE });
    for (const r of [forged, anonymous, fine]) await writeRecordFile(upstream, r);
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'overreach');
    const result = await sync(d);
    t.is(result.mode, 'merge');
    t.deepEqual((await names(d)).sort(), ['doomed', 'fine', 'mine']);
    t.is(((await (await fetch(`${d.url}/images/${mine}`)).json()) as { description?: string }).description, undefined);
    const byPath = new Map(result.conflicts.map((c) => [c.path, c.resolution]));
    t.regex(byPath.get(recordFile(mine)) ?? '', /kept this instance's version: .* may not change it/);
    t.regex(byPath.get(recordFile(doomed)) ?? '', /may not delete it/);
    t.regex(byPath.get(recordFile(forged.id)) ?? '', /may not add an image in the name of this instance/);
    t.regex(byPath.get(recordFile(anonymous.id)) ?? '', /must name its origin/);
    const catalog = join(d.dataDir, 'catalog');
    t.regex(git(catalog, 'log', '-1', '--format=%s'), /^Keep 4 file\(s\) as they were here against upstream public/);
  } finally {
    await d.stop();
  }
});

test("an upstream's deletion of a kernel that an image here uses keeps the kernel, reported; unrelated changes arrive", async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    const kernel = imageRecord({ name: 'vmlinuz', type: 'kernel' });
    await publish(upstream, [kernel]);
    await sync(d);
    const user = await createImage(d, d.token, { name: 'uses-kernel', access: 'public', kernel: kernel.id });
    git(upstream, 'rm', '-q', recordFile(kernel.id));
    git(upstream, 'commit', '-q', '-m', 'drop the kernel');
    await publish(upstream, [imageRecord({ name: 'unrelated' })]);
    const result = await sync(d);
    t.is(result.mode, 'merge');
    t.deepEqual((await names(d)).sort(), ['unrelated', 'uses-kernel', 'vmlinuz']);
    t.like(result.conflicts.find((c) => c.path === recordFile(kernel.id)), { resolution: `kept though upstream public deleted it: it is the kernel of ${user}` });
    t.is((await fetch(`${d.url}/images/${user}`)).status, 200);
  } finally {
    await d.stop();
  }
});

test('an upstream change that breaks the rules is refused and changes nothing', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    const a = imageRecord({ name: 'alpha' });
    await publish(upstream, [a]);
    await sync(d);
    const head = git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD');
    await publish(upstream, [{ ...a, checksum: `sha256:${'f'.repeat(64)}` }, imageRecord({ name: 'new-but-blocked' })]);
    const result = await sync(d);
    t.is(result.mode, 'refused');
    t.like(result.problems[0], { file: recordFile(a.id), field: 'checksum', rule: 'immutable' });
    t.is(git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD'), head);
    t.deepEqual(await names(d), ['alpha']);
  } finally {
    await d.stop();
  }
});

test('a private record arriving from an upstream is refused, even from a catalogue not marked public', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    await publish(upstream, [imageRecord({ name: 'alpha' })]);
    await sync(d);
    const head = git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD');
    const leaked = imageRecord({ name: 'someone-elses-secret', access: 'private' });
    await publish(upstream, [leaked]);
    const result = await sync(d);
    t.is(result.mode, 'refused');
    t.like(result.problems[0], { file: recordFile(leaked.id), field: 'access', rule: 'public-catalogue' });
    t.is(git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD'), head, 'the shared catalogue is as it was');
    t.is((await fetch(`${d.url}/images/${leaked.id}`, authed(d.token))).status, 404);
  } finally {
    await d.stop();
  }
});

test('POST /sync needs an administrator, and an unknown upstream is a 404', async (t) => {
  const { d } = await upstreamAndDaemon();
  try {
    t.is((await fetch(`${d.url}/sync`, { method: 'POST' })).status, 401);
    t.is((await fetch(`${d.url}/sync?upstream=nope`, authed(d.token, { method: 'POST' }))).status, 404);
  } finally {
    await d.stop();
  }
});

test('private images never reach the shared catalogue, and the private catalogue refuses every push', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    await publish(upstream, [imageRecord({ name: 'public-one' })]);
    await sync(d);
    const secret = await createImage(d, d.token, { name: 'secret', access: 'private' });
    // Publishing the instance's shared catalogue back upstream carries no trace of the private image.
    const shared = join(d.dataDir, 'catalog');
    t.is(tryGit(shared, 'push', '-q', upstream, 'HEAD:refs/heads/from-instance').status, 0);
    t.is(git(upstream, 'log', '--all', '--format=%H', '--', recordFile(secret)).trim(), '');
    // The private catalogue cannot be pushed anywhere, even by hand.
    const bare = join(await tempDir(), 'elsewhere.git');
    git(shared, 'init', '-q', '--bare', bare);
    const push = tryGit(join(d.dataDir, 'private-catalog'), 'push', bare, 'HEAD:refs/heads/leak');
    t.not(push.status, 0);
    t.regex(push.stderr, /private images never leave this instance/);
    t.is(tryGit(bare, 'rev-parse', '--verify', 'refs/heads/leak').status, 128);
    t.truthy(await readRecordFile(join(d.dataDir, 'private-catalog'), secret));
  } finally {
    await d.stop();
  }
});

test('what a sync refused is never served by the Git endpoint: no tracking refs, no dumb paths, no objects by id', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    await publish(upstream, [imageRecord({ name: 'alpha' })]);
    await sync(d);
    const leaked = imageRecord({ name: 'forge-secret', access: 'private', description: 'TOPSECRET-FROM-FORGE' });
    await publish(upstream, [leaked]);
    t.is((await sync(d)).mode, 'refused');
    const refused = git(upstream, 'rev-parse', 'HEAD').trim();
    const follower = join(d.dataDir, 'catalog');
    t.is(git(follower, 'for-each-ref', 'refs/remotes').trim(), '', 'no ref keeps the refused commit');
    // The fetch waited in quarantine: nothing of the refused commit entered the catalogue's objects, reachable or not.
    t.notRegex(tryGit(follower, 'cat-file', '--batch-all-objects', '--batch').stdout, /TOPSECRET-FROM-FORGE/);
    t.not(tryGit(follower, 'cat-file', '-e', refused).status, 0, 'the refused commit is not in the catalogue');
    t.is(tryGit(join(follower, '.git', 'visor', 'quarantine.git'), 'cat-file', '--batch-all-objects', '--batch-check').stdout.split('\n').filter((l) => l !== '' && !l.includes('missing')).length, git(follower, 'cat-file', '--batch-all-objects', '--batch-check').split('\n').filter(Boolean).length, 'and the quarantine was emptied (it sees only the catalogue\'s own objects)');

    // Asynchronous git: the daemon answering it runs in this process.
    const advertised = await gitAsync('.', 'ls-remote', `${d.url}/catalog.git`);
    t.is(advertised.status, 0);
    t.deepEqual(advertised.stdout.trim().split('\n').map((l) => l.split('\t')[1]).sort(), ['HEAD', 'refs/heads/main', 'refs/visor/head'], 'branches and the signed head statement only');
    const mirror = join(await tempDir(), 'mirror.git');
    t.is((await gitAsync('.', 'clone', '-q', '--mirror', `${d.url}/catalog.git`, mirror)).status, 0);
    const everything = tryGit(mirror, 'cat-file', '--batch-all-objects', '--batch');
    t.notRegex(everything.stdout, /TOPSECRET-FROM-FORGE/, 'a mirror clone holds nothing of the refused record');
    // Asking for the refused commit by id, in either protocol version, gets nothing.
    for (const version of ['0', '2']) {
      const clone = join(await tempDir(), 'by-id');
      git('.', 'init', '-q', clone);
      const byId = await gitAsync(clone, '-c', `protocol.version=${version}`, 'fetch', '-q', `${d.url}/catalog.git`, refused);
      t.not(byId.status, 0, `protocol v${version}: the refused commit is not served by id`);
    }
    // The dumb protocol's paths read repository files directly: not served.
    for (const path of ['/catalog.git/info/refs', '/catalog.git/objects/info/packs', '/catalog.git/HEAD', `/catalog.git/objects/${refused.slice(0, 2)}/${refused.slice(2)}`]) {
      t.is((await fetch(`${d.url}${path}`)).status, 404, path);
    }
  } finally {
    await d.stop();
  }
});

test('a sync checks every commit it brings in: a private record added and removed upstream, or a symlink, is refused', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    await publish(upstream, [imageRecord({ name: 'alpha' })]);
    await sync(d);
    const head = git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD');
    const passing = imageRecord({ name: 'passing-secret', access: 'private' });
    await publish(upstream, [passing], 'add a private record');
    git(upstream, 'rm', '-q', recordFile(passing.id));
    git(upstream, 'commit', '-q', '-m', 'and remove it again');
    const refused = await sync(d);
    t.is(refused.mode, 'refused');
    t.like(refused.problems.find((p) => p.rule === 'public-catalogue'), { file: recordFile(passing.id), field: 'access' });
    t.is(git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD'), head, 'the shared catalogue is as it was');

    git(upstream, 'reset', '-q', '--hard', 'HEAD~2');
    const link = imageRecord();
    await mkdir(join(upstream, 'images', link.id.slice(0, 2)), { recursive: true });
    await symlink('/etc/passwd', join(upstream, recordFile(link.id)));
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '-m', 'a link');
    const linked = await sync(d);
    t.is(linked.mode, 'refused');
    t.true(linked.problems.some((p) => p.rule === 'file-mode'));
    t.is(git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD'), head);
  } finally {
    await d.stop();
  }
});

test('an upstream record over the size limit is refused before the branch moves, without being read whole', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    await publish(upstream, [imageRecord({ name: 'alpha' })]);
    await sync(d);
    const head = git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD');
    const padded = imageRecord({ description: 'x'.repeat(200 * 1024) });
    await publish(upstream, [padded]);
    const result = await sync(d);
    t.is(result.mode, 'refused');
    t.true(result.problems.some((p) => p.rule === 'max-size' && p.file === recordFile(padded.id)));
    t.is(git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD'), head);
  } finally {
    await d.stop();
  }
});

test('an upstream whose branch goes back or is rewritten is refused and reported, never merged: nothing of it is taken', async (t) => {
  const { upstream, d } = await upstreamAndDaemon();
  try {
    const a = imageRecord({ name: 'alpha' });
    await publish(upstream, [a]);
    t.is((await sync(d)).mode, 'adopted');
    const withdrawn = git(upstream, 'rev-parse', 'HEAD').trim();
    await publish(upstream, [{ ...a, description: 'withdrawn: this version was wrong' }, imageRecord({ name: 'bravo' })]);
    t.is((await sync(d)).mode, 'fast-forward');
    const taken = git(upstream, 'rev-parse', 'HEAD').trim();
    const catalog = join(d.dataDir, 'catalog');
    const head = git(catalog, 'rev-parse', 'HEAD').trim();

    // A rollback: the branch is put back to the older commit (whatever is already merged here).
    git(upstream, 'reset', '-q', '--hard', withdrawn);
    const rolledBack = await sync(d);
    t.is(rolledBack.mode, 'refused');
    t.like(rolledBack.problems[0], { rule: 'rollback' });
    t.regex(JSON.stringify(rolledBack.problems[0]), new RegExp(`does not descend from ${taken.slice(0, 12)}`));

    // A fork from there, with a change of its own: refused too, and nothing of it arrives.
    await publish(upstream, [imageRecord({ name: 'forked' })]);
    t.like((await sync(d)).problems[0], { rule: 'rollback' });
    t.is(git(catalog, 'rev-parse', 'HEAD').trim(), head);
    t.false((await names(d)).includes('forked'));

    // The upstream puts its branch back where it was and moves on: syncs resume.
    git(upstream, 'reset', '-q', '--hard', taken);
    await publish(upstream, [imageRecord({ name: 'charlie' })]);
    t.is((await sync(d)).mode, 'fast-forward');
    t.true((await names(d)).includes('charlie'));
  } finally {
    await d.stop();
  }
});

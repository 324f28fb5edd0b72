import test from 'ava';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { runVisorJson } from './helpers/cli.ts';
import { createImage } from './helpers/images.ts';
import { git, gitAsync, tempDir, recordFile, readRecordFile } from './helpers/gitRepos.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { mirrorOnce } from '../src/sync/CatalogMirror.ts';

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon();
});
test.after.always(async () => {
  await d?.stop();
});

const create = async (body: Record<string, unknown>) => createImage(d, d.token, body);

// Serial: other tests here write to the same daemon, which would move its HEAD past the clone.
test.serial('the stock git client clones the shared catalogue over HTTP; private images are not in it', async (t) => {
  const pub = await create({ name: 'clone-me', access: 'public' });
  const priv = await create({ name: 'not-me', access: 'private' });
  const dir = join(await tempDir(), 'clone');
  const clone = await gitAsync('.', 'clone', '-q', `${d.url}/catalog.git`, dir);
  t.is(clone.status, 0, clone.stderr);
  t.is((await readRecordFile(dir, pub))['name'], 'clone-me');
  t.is(git(dir, 'log', '--all', '--format=%H', '--', recordFile(priv)).trim(), '');
  t.is(git(dir, 'rev-parse', 'HEAD').trim(), git(join(d.dataDir, 'catalog'), 'rev-parse', 'HEAD').trim());
});

test('the Git endpoint is read-only: pushes are refused', async (t) => {
  const dir = join(await tempDir(), 'clone');
  t.is((await gitAsync('.', 'clone', '-q', `${d.url}/catalog.git`, dir)).status, 0);
  git(dir, 'commit', '-q', '--allow-empty', '-m', 'try to push');
  const push = await gitAsync(dir, 'push', 'origin', 'HEAD:refs/heads/main');
  t.not(push.status, 0);
  t.is((await fetch(`${d.url}/catalog.git/info/refs?service=git-receive-pack`)).status, 403);
});

test('the static view serves catalogue files with object ids as ETags, and 304 when unchanged', async (t) => {
  const id = await create({ name: 'static', access: 'public' });
  const head = (await (await fetch(`${d.url}/catalog/HEAD`)).json()) as { commit: string };
  t.regex(head.commit, /^[0-9a-f]{40}$/);
  const file = await fetch(`${d.url}/catalog/files/${recordFile(id)}`);
  t.is(file.status, 200);
  t.is(file.headers.get('content-type'), 'application/json; charset=utf-8');
  t.is(((await file.json()) as { name: string }).name, 'static');
  const etag = file.headers.get('etag')!;
  t.regex(etag, /^"[0-9a-f]{40}"$/);
  t.is((await fetch(`${d.url}/catalog/files/${recordFile(id)}`, { headers: { 'if-none-match': etag } })).status, 304);
  const shard = (await (await fetch(`${d.url}/catalog/files/images/${id.slice(0, 2)}`)).json()) as { entries: { name: string; type: string }[] };
  t.true(shard.entries.some((e) => e.name === `${id}.json` && e.type === 'file'));
  const priv = await create({ name: 'hidden', access: 'private' });
  t.is((await fetch(`${d.url}/catalog/files/${recordFile(priv)}`)).status, 404);
  t.is((await fetch(`${d.url}/catalog/files/images/..%2F..%2Fetc`)).status, 400);
});

test('visor mirror clones, then follows with fast-forwards', async (t) => {
  const dir = join(await tempDir(), 'mirror');
  const first = await runVisorJson<{ cloned: boolean }>(['mirror', `${d.url}/catalog.git`, dir, '--once']);
  t.true(first.cloned);
  const id = await create({ name: 'arrives-later', access: 'public' });
  const second = await runVisorJson<{ cloned: boolean; before: string; after: string }>(['mirror', `${d.url}/catalog.git`, dir, '--once']);
  t.false(second.cloned);
  t.not(second.before, second.after);
  t.is((await gitAsync(dir, 'merge-base', '--is-ancestor', second.before, second.after)).status, 0, 'a fast-forward: the old head is in the new history');
  t.is((await readRecordFile(dir, id))['name'], 'arrives-later');
});

test('a mirror whose source goes back or rewrites its history refuses to follow, and stays where it is', async (t) => {
  const root = await tempDir();
  const source = join(root, 'source');
  await initCatalog(source, 'public');
  const mirror = join(root, 'mirror');
  await mirrorOnce(source, mirror);
  const first = git(source, 'rev-parse', 'HEAD').trim();
  git(source, 'commit', '-q', '--allow-empty', '-m', 'a later version');
  t.false((await mirrorOnce(source, mirror)).cloned);
  const later = git(mirror, 'rev-parse', 'HEAD').trim();
  git(source, 'reset', '-q', '--hard', first);
  const rollback = await mirrorOnce(source, mirror).catch((e: unknown) => e as Error);
  t.regex(String(rollback), /went back to .* a rollback is refused/);
  git(source, 'commit', '-q', '--allow-empty', '-m', 'a fork');
  const fork = await mirrorOnce(source, mirror).catch((e: unknown) => e as Error);
  t.regex(String(fork), /cannot fast-forward/);
  t.is(git(mirror, 'rev-parse', 'HEAD').trim(), later);
});

/**
 * A series is a namespace per owner (as a repository is per account in an OCI registry): within a
 * series, each owner's images have names of their own. So a name is only ever judged against images
 * the caller sees, and no answer tells whether an image the caller may not see holds a name; nobody
 * can take a name first and keep its owner out. The daemon, `catalog validate` and the hooks apply
 * the same rule (the hooks' side: test/hooks.test.ts).
 */
import test from 'ava';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call, type Answer } from './helpers/http.ts';
import { randomBytes } from 'node:crypto';
import { createImage, unique, uploadFile } from './helpers/images.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { VisorClient } from '../src/client/VisorClient.ts';
import { runVisor } from './helpers/cli.ts';
import { validateCatalog } from '../src/catalog/CatalogValidator.ts';

let d: TestDaemon;
const who = {} as Record<'owner' | 'stranger' | 'grantee', { name: string; key: string }>;
test.before(async () => {
  d = await startTestDaemon();
  await Promise.all(
    (['owner', 'stranger', 'grantee'] as const).map(async (role) => {
      const name = unique(role);
      who[role] = { name, key: await addUser(d, name) };
    }),
  );
});
test.after.always(() => d?.stop());

const problemsOf = (a: Answer) => (a.json as { error: { problems: Array<{ rule: string; message: string }> } }).error.problems;

test("a name another owner's hidden image holds is free to a stranger: created exactly as a name nobody holds", async (t) => {
  const series = unique('noble');
  await createImage(d, who.owner.key, { name: 'held', series, access: 'private' });
  const [held, free] = await Promise.all([
    call(d, who.stranger.key, 'POST', '/images', { name: 'held', series }),
    call(d, who.stranger.key, 'POST', '/images', { name: 'free', series }),
  ]);
  t.deepEqual([held.status, free.status], [201, 201]);
  // The stranger's own namespace is still theirs: a second "held" of theirs is refused, naming their own image.
  const again = await call(d, who.stranger.key, 'POST', '/images', { name: 'held', series });
  t.is(again.status, 400);
  t.deepEqual(problemsOf(again).map((p) => p.rule), ['unique-in-series']);
  t.is(problemsOf(again)[0]!.message, `image ${(held.json as { id: string }).id} of series ${series} is already named "held"`);
});

test('nobody can take a name first and keep its owner out, with a private or a public image', async (t) => {
  const series = unique('cirros');
  await createImage(d, who.stranger.key, { name: 'cirros-0.6.2', series, access: 'private' });
  await createImage(d, who.stranger.key, { name: 'cirros-0.6.3', series, access: 'public' });
  const answers = await Promise.all(['cirros-0.6.2', 'cirros-0.6.3'].map((name) => call(d, who.owner.key, 'POST', '/images', { name, series, access: 'public' })));
  t.deepEqual(answers.map((a) => a.status), [201, 201]);
});

test('a commit grantee may change what else they may, but naming the image in a series is its owner\'s: refused alike whether or not a hidden image holds the name', async (t) => {
  const series = unique('debian');
  const shared = await createImage(d, who.owner.key, { name: 'shared', series, access: 'private' });
  await createImage(d, who.owner.key, { name: 'hidden', series, access: 'private' });
  await grant(d, who.owner.key, shared, 'users', who.grantee.name, 'commit');
  const [onHidden, onFree, toOtherSeries] = await Promise.all([
    call(d, who.grantee.key, 'PUT', `/images/${shared}`, { name: 'hidden' }),
    call(d, who.grantee.key, 'PUT', `/images/${shared}`, { name: 'free' }),
    call(d, who.grantee.key, 'PUT', `/images/${shared}`, { series: unique('elsewhere') }),
  ]);
  t.deepEqual([onHidden.status, onFree.status, toOtherSeries.status], [403, 403, 403]);
  t.is(onHidden.text, onFree.text, 'the same answer, word for word');
  t.regex(onHidden.text, /name in a series/);
  t.is((await call(d, who.grantee.key, 'PUT', `/images/${shared}`, { description: 'edited by a grantee' })).status, 200);
  // The owner sees every image of their namespace, so their refusal may name the one holding the name.
  const owner = await call(d, who.owner.key, 'PUT', `/images/${shared}`, { name: 'hidden' });
  t.is(owner.status, 400);
  t.deepEqual(problemsOf(owner).map((p) => p.rule), ['unique-in-series']);
  t.is((await call(d, who.owner.key, 'PUT', `/images/${shared}`, { name: 'free' })).status, 200);
});

/** An available image of the key's owner in the series. */
async function published(key: string, series: string, access: 'public' | 'private'): Promise<string> {
  const id = await createImage(d, key, { name: unique('build'), series, access });
  await uploadFile(d, key, id, randomBytes(64));
  return id;
}

test("a stranger's newer image does not become a series' latest: with several owners the caller must name one, and only owners of images the caller sees count", async (t) => {
  const series = unique('cirros');
  const genuine = await published(who.owner.key, series, 'public');
  const intruder = await published(who.stranger.key, series, 'public');
  const ambiguous = await call(d, undefined, 'GET', `/series/${series}/latest`);
  t.is(ambiguous.status, 409);
  t.deepEqual(problemsOf(ambiguous).map((p) => p.rule), ['required']);
  t.regex(ambiguous.text, new RegExp(`\\(${[who.owner.name, who.stranger.name].sort().join(', ')}\\)`));
  t.is((await call(d, undefined, 'GET', `/series/${series}/latest/file`)).status, 409, 'no file of a guessed owner either');
  // A signed-in caller with images of their own in the series gets theirs, intruder or not.
  t.is(((await call(d, who.owner.key, 'GET', `/series/${series}/latest`)).json as { id: string }).id, genuine);
  t.is(((await call(d, who.stranger.key, 'GET', `/series/${series}/latest`)).json as { id: string }).id, intruder);
  const pinned = await call(d, undefined, 'GET', `/series/${series}/latest?owner=${who.owner.name}`);
  t.is((pinned.json as { id: string }).id, genuine);
  t.is((await call(d, undefined, 'GET', `/series/${series}/latest/file?owner=${who.owner.name}`)).headers.get('location'), `/images/${genuine}/file`);
  t.is(((await call(d, undefined, 'GET', `/series/${series}/latest?owner=${who.stranger.name}`)).json as { id: string }).id, intruder);
  // The client and the CLI name the owner the same way.
  t.is((await new VisorClient({ url: d.url }).latest(series, { owner: who.owner.name })).id, genuine);
  const cli = await runVisor(['--url', d.url, '--json', 'latest', series, '--owner', who.owner.name]);
  t.is(cli.code, 0, cli.stderr);
  t.is((JSON.parse(cli.stdout) as { id: string }).id, genuine);
  const unpinned = await runVisor(['--url', d.url, 'latest', series]);
  t.not(unpinned.code, 0);
  t.regex(unpinned.stderr, /several owners|owners \(/);

  // A hidden owner's image is neither counted nor named: the series answers as if it were not there.
  const quiet = unique('debian');
  const only = await published(who.owner.key, quiet, 'public');
  await published(who.grantee.key, quiet, 'private');
  const latest = await call(d, who.stranger.key, 'GET', `/series/${quiet}/latest`);
  t.is(latest.status, 200, latest.text);
  t.is((latest.json as { id: string }).id, only);
  const nobodyName = unique('nobody');
  const [hiddenOwner, nobody] = await Promise.all([
    call(d, who.stranger.key, 'GET', `/series/${quiet}/latest?owner=${who.grantee.name}`),
    call(d, who.stranger.key, 'GET', `/series/${quiet}/latest?owner=${nobodyName}`),
  ]);
  t.deepEqual([hiddenOwner.status, nobody.status], [404, 404]);
  t.is(hiddenOwner.text.replace(who.grantee.name, '<owner>'), nobody.text.replace(nobodyName, '<owner>'));
});

test('catalog validate judges names per owner, as the daemon does', async (t) => {
  const dir = join(await tempDir('visor-series-'), 'catalog');
  try {
    await initCatalog(dir);
    const first = imageRecord({ series: 'ubuntu', name: 'noble', owner: 'pat' });
    await writeRecordFile(dir, first);
    await writeRecordFile(dir, imageRecord({ series: 'ubuntu', name: 'noble', owner: 'eve' }));
    t.deepEqual(await validateCatalog(dir), [], "another owner's namesake is no problem");
    const dup = imageRecord({ series: 'ubuntu', name: 'noble', owner: 'pat' });
    await writeRecordFile(dir, dup);
    const problems = await validateCatalog(dir);
    t.deepEqual(problems.map((p) => p.rule), ['unique-in-series']);
    t.true([first.id, dup.id].some((id) => problems[0]!.file.includes(id)));
  } finally {
    await rm(join(dir, '..'), { recursive: true, force: true });
  }
});

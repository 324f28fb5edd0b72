import test from 'ava';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, uploadFile } from './helpers/images.ts';
import { addGroup, addUser, grant } from './helpers/accounts.ts';
import { ListPages } from '../src/images/ListPages.ts';
import type { Principal } from '../src/auth/Principal.ts';
import type { ImageRecord } from '../src/api/ImageRecord.ts';

// The list routes send pages kept between requests (src/images/ListPages.ts). Pages here are kept for
// an hour, so that only the version numbers (not the daemon's 1 s at most) decide when one is made
// again: every change that can make a record appear must be in the next page, for every caller.

let d: TestDaemon;
let keys: { owner: string; reader: string; stranger: string };
const who: Record<'owner' | 'reader' | 'stranger' | 'opsReader', Principal> = {
  owner: { name: 'olga', admin: false, groups: [] },
  reader: { name: 'rita', admin: false, groups: [] },
  stranger: { name: 'sam', admin: false, groups: [] },
  // rita once she has joined ops: another audience than rita before.
  opsReader: { name: 'rita', admin: false, groups: ['ops'] },
};

test.before(async () => {
  d = await startTestDaemon();
  keys = { owner: await addUser(d, 'olga'), reader: await addUser(d, 'rita'), stranger: await addUser(d, 'sam') };
});

test.after.always(async () => {
  await d?.stop();
});

function pagesOf(options: Partial<ConstructorParameters<typeof ListPages>[0]> = {}): ListPages {
  const core = d.daemon.core;
  return new ListPages({ images: core.images, ledger: core.ledger, views: core.views, schema: core.schema, ttlMs: 3_600_000, ...options });
}

interface Page {
  images: Array<{ id: string; name: string; access_count?: number; uri: string }>;
}
const read = (pages: ListPages, caller: Principal | undefined, search = 'limit=1000', detail = false): Page => JSON.parse(pages.page(detail ? '/images/detail' : '/images', search, caller, detail).toString()) as Page;
const listed = (pages: ListPages, caller: Principal | undefined, id: string): boolean => read(pages, caller).images.some((i) => i.id === id);

test('a page is kept: the same query of the same caller gets the same bytes while nothing changes', async (t) => {
  await createImage(d, keys.owner, { name: 'kept', access: 'public' });
  const pages = pagesOf();
  const first = pages.page('/images', 'limit=1000', undefined, false);
  t.is(pages.page('/images', 'limit=1000', undefined, false), first);
  t.not(pages.page('/images', 'limit=999', undefined, false), first, 'another query is another page');
  t.not(pages.page('/images', 'limit=1000', who.stranger, false), first, 'another caller is another page');
});

test('a record made public, granted to a user or to a group is in the next page of each caller who may now see it', async (t) => {
  const pages = pagesOf();
  const id = await createImage(d, keys.owner, { name: 'private-first', access: 'private' });
  const callers = [undefined, who.owner, who.reader, who.stranger, who.opsReader];
  const seen = () => callers.map((c) => listed(pages, c, id));
  t.deepEqual(seen(), [false, true, false, false, false], 'private: its owner alone');

  await grant(d, keys.owner, id, 'users', 'rita', 'checkout');
  t.deepEqual(seen(), [false, true, true, false, true], 'granted to rita');

  t.is((await call(d, keys.owner, 'DELETE', `/images/${id}/grants/users/rita`)).status, 200);
  t.deepEqual(seen(), [false, true, false, false, false], 'revoked');

  await addGroup(d, 'ops', ['rita']);
  await grant(d, keys.owner, id, 'groups', 'ops', 'checkout');
  t.deepEqual(seen(), [false, true, false, false, true], "granted to ops: rita's pages as a member of ops, not as she was before");

  t.is((await call(d, keys.owner, 'PUT', `/images/${id}`, { access: 'public' })).status, 200);
  t.deepEqual(seen(), [true, true, true, true, true], 'made public');

  t.is((await call(d, keys.owner, 'DELETE', `/images/${id}`)).status, 200);
  t.deepEqual(seen(), [false, false, false, false, false], 'deleted');
});

test("a page of full records shows each download's count at once; a page of brief ones (without counts) stays kept", async (t) => {
  const pages = pagesOf();
  const id = await createImage(d, keys.owner, { name: 'counted', access: 'public' });
  await uploadFile(d, keys.owner, id, Buffer.from('counted bytes'));
  const count = () => read(pages, undefined, 'limit=1000', true).images.find((i) => i.id === id)?.access_count;
  t.is(count(), 0);
  const brief = pages.page('/images', 'limit=1000', undefined, false);
  t.is((await call(d, undefined, 'GET', `/images/${id}/file`)).status, 200);
  t.is(count(), 1);
  t.is(pages.page('/images', 'limit=1000', undefined, false), brief);
});

test('a kept page is not sent again once the caller may not see one of its records, whatever the version numbers say', async (t) => {
  const core = d.daemon.core;
  const id = await createImage(d, keys.owner, { name: 'lapsing', access: 'public' });
  // What no version number tells: a trust judgement that lapsed with time. Seen through a ledger whose
  // rule about this one record changes while its version stays.
  let lapsed = false;
  const ledger = { get version() { return core.ledger.version; }, canSee: (p: Principal | undefined, r: Pick<ImageRecord, 'id' | 'owner'>) => !(lapsed && r.id === id) && core.ledger.canSee(p, r) };
  const pages = pagesOf({ ledger });
  const first = pages.page('/images', 'limit=1000', undefined, false);
  t.is(pages.page('/images', 'limit=1000', undefined, false), first);
  lapsed = true;
  t.not(pages.page('/images', 'limit=1000', undefined, false), first, 'made again, not sent from what was kept');
});

test('pages are kept for ttlMs at most, and a page over a sixteenth of maxBytes is never kept', async (t) => {
  for (let i = 0; i < 4; i++) await createImage(d, keys.owner, { name: `sized-${i}`, access: 'public' });
  const brief = pagesOf({ ttlMs: 20 });
  const first = brief.page('/images', 'limit=1000', undefined, false);
  t.is(brief.page('/images', 'limit=1000', undefined, false), first);
  await new Promise((resolve) => setTimeout(resolve, 60));
  t.not(brief.page('/images', 'limit=1000', undefined, false), first);

  // At most 4 KiB a page, its records counted at 1 KiB each: a page of several records is not kept.
  const small = pagesOf({ maxBytes: 16 * 4096 });
  const large = small.page('/images', 'limit=1000', undefined, false);
  t.true(JSON.parse(large.toString()).images.length >= 4);
  t.not(small.page('/images', 'limit=1000', undefined, false), large, 'too large to keep');
  const tiny = small.page('/images', 'limit=1&q=no-such-image', undefined, false);
  t.is(small.page('/images', 'limit=1&q=no-such-image', undefined, false), tiny, 'a small page is kept');
});

test("a page made before the daemon's public url changed names the new one", async (t) => {
  const { views } = d.daemon.core;
  const before = views.publicUrl;
  await createImage(d, keys.owner, { name: 'addressed', access: 'public' });
  const pages = pagesOf();
  t.true(read(pages, undefined).images.every((i) => i.uri.startsWith(`${before}/images/`)));
  try {
    views.publicUrl = 'https://images.example.org';
    t.true(read(pages, undefined).images.every((i) => i.uri.startsWith('https://images.example.org/images/')));
  } finally {
    views.publicUrl = before;
  }
});

test('a bad query is refused each time and nothing is kept of it', (t) => {
  const pages = pagesOf();
  for (let i = 0; i < 2; i++) t.throws(() => pages.page('/images', 'sort=nonsense', undefined, false), { message: /sort/ });
});

test('a kept page is not sent again once the caller may not see the marker its query names', async (t) => {
  const core = d.daemon.core;
  const first = await createImage(d, keys.owner, { name: 'marker-first', access: 'public' });
  await createImage(d, keys.owner, { name: 'marker-second', access: 'public' });
  let lapsed = false;
  const ledger = { get version() { return core.ledger.version; }, canSee: (p: Principal | undefined, r: Pick<ImageRecord, 'id' | 'owner'>) => !(lapsed && r.id === first) && core.ledger.canSee(p, r) };
  const pages = pagesOf({ ledger });
  const search = `limit=1&marker=${first}`;
  const kept = pages.page('/images', search, undefined, false);
  t.false(JSON.parse(kept.toString()).images.some((i: { id: string }) => i.id === first), 'the marker is not on its own next page');
  t.is(pages.page('/images', search, undefined, false), kept);
  lapsed = true;
  t.not(pages.page('/images', search, undefined, false), kept, 'made again: a fresh answer checks the marker');
});

test('what kept pages hold is bounded, their keys and records counted; a query of kilobytes is answered but not kept', async (t) => {
  await createImage(d, keys.owner, { name: 'bounded', access: 'public' });
  const maxBytes = 256 * 1024;
  const pages = pagesOf({ maxBytes });
  // Distinct filters that find nothing: tiny pages, long keys (a name filter's length is not bounded).
  for (let i = 0; i < 400; i++) pages.page('/images', `name=${String(i).padStart(1500, 'x')}`, undefined, false);
  t.true(pages.keptBytes <= maxBytes, `${pages.keptBytes} bytes kept`);
  t.true(pages.keptBytes > 100 * 1500, 'the keys are counted');
  const long = `name=${'y'.repeat(4000)}`;
  const answer = pages.page('/images', long, undefined, false);
  t.deepEqual(JSON.parse(answer.toString()), { images: [] });
  t.not(pages.page('/images', long, undefined, false), answer, 'answered again, not kept');
});

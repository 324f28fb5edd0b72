import test from 'ava';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage } from './helpers/images.ts';
import { addUser, auditEntriesOf, grant } from './helpers/accounts.ts';

// The hot read routes answer from per-record texts kept between requests: what a change does must be
// in the very next read of every caller, on every hot route, with nothing to wait for.

let d: TestDaemon;
let keys: { owner: string; reader: string; stranger: string };

test.before(async () => {
  d = await startTestDaemon({ hotReads: true });
  keys = { owner: await addUser(d, 'olga'), reader: await addUser(d, 'rita'), stranger: await addUser(d, 'sam') };
});

test.after.always(async () => {
  await d?.stop();
});

type Caller = keyof typeof keys | 'anonymous';
const CALLERS: Caller[] = ['owner', 'reader', 'stranger', 'anonymous'];
const keyOf = (who: Caller) => (who === 'anonymous' ? undefined : keys[who]);

/** What each hot route tells the caller of the image: its name, or undefined where it is not seen. */
async function seen(who: Caller, id: string): Promise<Record<string, string | undefined>> {
  const key = keyOf(who);
  const name = (images: Array<{ id: string; name: string }>) => images.find((i) => i.id === id)?.name;
  const show = await call(d, key, 'GET', `/images/${id}`);
  const list = await call(d, key, 'GET', '/images?limit=1000');
  const detail = await call(d, key, 'GET', '/images/detail?limit=1000');
  const glance = await call(d, key, 'GET', '/v2/images?limit=1000');
  const glanceShow = await call(d, key, 'GET', `/v2/images/${id}`);
  return {
    show: show.status === 200 ? (show.json as { name: string }).name : undefined,
    list: name((list.json as { images: Array<{ id: string; name: string }> }).images),
    detail: name((detail.json as { images: Array<{ id: string; name: string }> }).images),
    glance: name((glance.json as { images: Array<{ id: string; name: string }> }).images),
    glanceShow: glanceShow.status === 200 ? (glanceShow.json as { name: string }).name : undefined,
  };
}

const everywhere = (name: string | undefined) => ({ show: name, list: name, detail: name, glance: name, glanceShow: name });

async function expectSeen(t: { deepEqual: (a: unknown, b: unknown, m?: string) => void }, id: string, expected: Record<Caller, string | undefined>, when: string): Promise<void> {
  for (const who of CALLERS) t.deepEqual(await seen(who, id), everywhere(expected[who]), `${who}, ${when}`);
}

test('a change is in the next hot read of owner, grantee, stranger and anonymous: made private, granted, revoked, renamed, public again', async (t) => {
  const id = await createImage(d, keys.owner, { name: 'first', disk: 'qcow2', access: 'public' });
  // Every route read once before each change, so that whatever is kept from a read is there to go stale.
  await expectSeen(t, id, { owner: 'first', reader: 'first', stranger: 'first', anonymous: 'first' }, 'public');

  t.is((await call(d, keys.owner, 'PUT', `/images/${id}`, { access: 'private' })).status, 200);
  await expectSeen(t, id, { owner: 'first', reader: undefined, stranger: undefined, anonymous: undefined }, 'made private');

  await grant(d, keys.owner, id, 'users', 'rita', 'checkout');
  await expectSeen(t, id, { owner: 'first', reader: 'first', stranger: undefined, anonymous: undefined }, 'granted to rita');

  t.is((await call(d, keys.owner, 'PUT', `/images/${id}`, { name: 'second' })).status, 200);
  await expectSeen(t, id, { owner: 'second', reader: 'second', stranger: undefined, anonymous: undefined }, 'renamed');

  t.is((await call(d, keys.owner, 'DELETE', `/images/${id}/grants/users/rita`)).status, 200);
  await expectSeen(t, id, { owner: 'second', reader: undefined, stranger: undefined, anonymous: undefined }, 'revoked');

  t.is((await call(d, keys.owner, 'PUT', `/images/${id}`, { access: 'public', name: 'third' })).status, 200);
  await expectSeen(t, id, { owner: 'third', reader: 'third', stranger: 'third', anonymous: 'third' }, 'public again');
});

test('a burst of hot reads is audited whole, each request once, and the log settles promptly', async (t) => {
  const id = await createImage(d, keys.owner, { name: 'burst', access: 'public' });
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => call(d, i % 2 ? keys.stranger : undefined, 'GET', i % 3 ? `/images/${id}` : '/images/detail')));
  const requests = answers.map((a) => a.headers.get('x-request-id')!);
  t.is(new Set(requests).size, 200);
  const started = performance.now();
  const entries = await auditEntriesOf(d, requests);
  t.is(entries.size, 200);
  t.true(performance.now() - started < 2000, 'entries are written within the 2 s the helper waits, not held back');
  for (const [i, request] of requests.entries()) {
    const e = entries.get(request)!;
    t.like(e, { status: 200, outcome: 'ok', user: i % 2 ? 'sam' : null, method: 'GET', path: i % 3 ? `/images/${id}` : '/images/detail' });
  }
});

/**
 * The web catalogue's session table: one account signing in over and over pushes out only its own
 * older sessions, never anyone else's (the end-to-end sign-in is in web.pages and web.browser).
 */
import test from 'ava';
import type { Authenticator } from '../src/auth/Authenticator.ts';
import { WebSessions } from '../src/web/WebSessions.ts';
import { TooManyRequests, unauthenticated } from '../src/errors/VisorError.ts';

// Keys are "key-<account>-<n>": the account is whatever the key says (a unit test of the table alone).
const auth: Authenticator = { authenticate: async (header) => ({ name: String(header).split('-')[1]!, admin: false }) };

test("an account that keeps signing in ends only its own oldest sessions, not other people's", async (t) => {
  const sessions = new WebSessions(auth, { maxPerAccount: 3, maxSessions: 5 });
  const alice = await sessions.open('key-alice-0', 'c');
  const bob = await sessions.open('key-bob-0', 'c');
  const mallory = [];
  for (let i = 0; i < 50; i++) mallory.push(await sessions.open(`key-mallory-${i}`, 'c'));
  t.truthy(await sessions.find(alice.id, 'c'), "alice's session stays");
  t.truthy(await sessions.find(bob.id, 'c'), "bob's session stays");
  t.falsy(await sessions.find(mallory[0]!.id, 'c'), "mallory's oldest went");
  t.truthy(await sessions.find(mallory[49]!.id, 'c'));
  t.is(sessions.size, 5);
});

test('beyond the table\'s size the least recently used session goes, whoever it is', async (t) => {
  const sessions = new WebSessions(auth, { maxPerAccount: 3, maxSessions: 3 });
  const a = await sessions.open('key-a-0', 'c');
  const b = await sessions.open('key-b-0', 'c');
  const c = await sessions.open('key-c-0', 'c');
  await sessions.find(a.id, 'c');
  await sessions.open('key-d-0', 'c');
  t.truthy(await sessions.find(a.id, 'c'), 'used lately: kept');
  t.falsy(await sessions.find(b.id, 'c'), 'least recently used: gone');
  t.truthy(await sessions.find(c.id, 'c'));
});

test('a session outlives a refusal that is not about its key (too many checks at once), and ends with its key', async (t) => {
  let answer: 'busy' | 'revoked' | 'ok' = 'ok';
  const flaky: Authenticator = {
    authenticate: async () => {
      if (answer === 'busy') throw new TooManyRequests('too many key checks', 1);
      if (answer === 'revoked') throw unauthenticated('unknown or revoked API key');
      return { name: 'alice', admin: false };
    },
  };
  const sessions = new WebSessions(flaky);
  const s = await sessions.open('key-alice-0', 'c');
  answer = 'busy';
  await t.throwsAsync(sessions.find(s.id, 'c'), { instanceOf: TooManyRequests });
  answer = 'ok';
  t.truthy(await sessions.find(s.id, 'c'), 'still signed in');
  answer = 'revoked';
  t.is(await sessions.find(s.id, 'c'), undefined);
  answer = 'ok';
  t.is(await sessions.find(s.id, 'c'), undefined, 'ended for good');
});

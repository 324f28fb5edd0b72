/**
 * Key-check floods. Key ids are not secret, and until a key's right token has been seen since start
 * each wrong secret costs a slow hash. A client guessing is held to a small budget (429 with
 * Retry-After), one key is checked one guess at a time, and neither the key's owner nor anyone else
 * waits behind the flood.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';
import { addUser } from './helpers/accounts.ts';
import { requestFrom } from './helpers/rawSockets.ts';
import { AccountStore } from '../src/accounts/AccountStore.ts';
import { ApiKeyAuthenticator } from '../src/accounts/ApiKeyAuthenticator.ts';
import { generateApiKey } from '../src/accounts/ApiKey.ts';
import { hashSecret } from '../src/accounts/SecretHash.ts';
import { VisorError } from '../src/errors/VisorError.ts';

const wrongSecretFor = (token: string) => `${token.slice(0, 23)}${randomBytes(32).toString('base64url')}`;

test('a flood of wrong secrets for a key id gets 429 with Retry-After, while the owner and another user are answered promptly', async (t) => {
  // A real hash cost (2^14, tens of ms) makes a flood cost what it would in production.
  const d = await startTestDaemon({ config: { auth: { key_hash_cost: 14 } } });
  t.teardown(() => d.stop());
  const victim = await addUser(d, 'victim');
  const bystander = await addUser(d, 'bystander');
  const neighbour = await addUser(d, 'neighbour');
  const auth = d.daemon.core.accessControl.authenticator as ApiKeyAuthenticator;
  const slowBefore = auth.checks.slow;

  // The attacker, at 127.0.0.1: wrong secrets for the victim's key id, 100 at a time.
  const statuses: number[] = [];
  const refusals: { retryAfter: string | undefined; code: unknown }[] = [];
  const round = async () => {
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => requestFrom(d.url, '127.0.0.1', 'GET', '/whoami', { authorization: `Bearer ${wrongSecretFor(victim)}` })),
    );
    for (const a of answers) {
      statuses.push(a.status);
      if (a.status === 429) refusals.push({ retryAfter: a.headers['retry-after'] as string | undefined, code: (JSON.parse(a.text) as { error: { code: unknown } }).error.code });
    }
  };
  await round();
  t.true(refusals.length >= 85, `${refusals.length} of the first 100 got 429`);
  t.true(refusals.every((r) => r.code === 'too_many_requests' && Number(r.retryAfter) >= 1), 'each 429 is in the error shape with Retry-After');

  // While it goes on, the owner (127.0.0.2), another user (127.0.0.3) and a user behind the attacker's
  // own address (a NAT, a proxy: 127.0.0.1) make their first requests since start.
  const flood = Promise.all([round(), round()]);
  await new Promise((r) => setTimeout(r, 50));
  const [owner, other, behindSameAddress] = await Promise.all([
    requestFrom(d.url, '127.0.0.2', 'GET', '/whoami', { authorization: `Bearer ${victim}` }),
    requestFrom(d.url, '127.0.0.3', 'GET', '/whoami', { authorization: `Bearer ${bystander}` }),
    requestFrom(d.url, '127.0.0.1', 'GET', '/whoami', { authorization: `Bearer ${neighbour}` }),
  ]);
  await flood;
  t.is(behindSameAddress.status, 200, `a user sharing the guesser's address: ${behindSameAddress.text}`);
  t.true(behindSameAddress.ms < 5000, `the user sharing the address waited ${Math.round(behindSameAddress.ms)} ms`);

  t.is(owner.status, 200, owner.text);
  t.like(JSON.parse(owner.text), { name: 'victim' });
  t.is(other.status, 200, other.text);
  // Generous for a loaded two-core machine (~1 s when quiet): before, the owner waited ~10 s or got a 503.
  t.true(owner.ms < 5000, `the owner waited ${Math.round(owner.ms)} ms`);
  t.true(other.ms < 5000, `another user waited ${Math.round(other.ms)} ms`);

  // Wrong secrets are refused (401; by digest once the owner's key has passed) or told to come back (429), never 5xx.
  t.is(statuses.length, 300);
  t.deepEqual([...new Set(statuses)].sort(), [401, 429]);
  // The attacker's work: its budget of failures (10) and a refill or two, not 300 hashes.
  const hashed = auth.checks.slow - slowBefore;
  t.true(hashed <= 20, `${hashed} slow hashes for the flood and two first requests`);
  const count = (s: number) => statuses.filter((x) => x === s).length;
  t.log(`300 guesses: ${count(429)} × 429, ${count(401)} × 401; ${hashed} slow hashes; owner answered in ${Math.round(owner.ms)} ms, another user in ${Math.round(other.ms)} ms`);

  // Once the owner's key has passed, it is checked by digest: it works even from the attacker's
  // address, whose budget is spent.
  const sameAddress = await requestFrom(d.url, '127.0.0.1', 'GET', '/whoami', { authorization: `Bearer ${victim}` });
  t.is(sameAddress.status, 200);
  const stillRefused = await requestFrom(d.url, '127.0.0.1', 'GET', '/whoami', { authorization: `Bearer ${wrongSecretFor(bystander)}` });
  t.is(stillRefused.status, 401, 'a wrong secret for a verified key is refused by digest, at no cost');
});

test('the failure budget is per client and key: a guessing client is held back on the keys it guessed, other clients and other keys are not, and right keys spend nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-flood-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const store = await AccountStore.open(join(dir, 'accounts.json'));
  const keys = await Promise.all(['ana', 'bob', 'cy'].map(async (name) => ({ name, key: generateApiKey() })));
  for (const { name, key } of keys) {
    const hash = await hashSecret(key.token, 10);
    await store.change((draft) => {
      draft.users[name] = { role: 'user', disabled: false, created_at: '2026-01-01T00:00:00Z', key: { id: key.id, hash, created_at: '2026-01-01T00:00:00Z' } };
    });
  }
  const [ana, bob, cy] = keys.map((k) => k.key.token) as [string, string, string];
  const auth = new ApiKeyAuthenticator(store, { failuresPerClient: 3, failureRefillMs: 60_000 });
  const kindOf = (p: Promise<unknown>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof VisorError ? e.kind : 'other'),
    );
  const guesses: string[] = [];
  for (let i = 0; i < 6; i++) guesses.push(await kindOf(auth.authenticate(`Bearer ${wrongSecretFor(ana)}`, 'mallory')));
  t.deepEqual(guesses, ['unauthenticated', 'unauthenticated', 'unauthenticated', 'too_many_requests', 'too_many_requests', 'too_many_requests']);
  const refusal = await auth.authenticate(`Bearer ${wrongSecretFor(ana)}`, 'mallory').catch((e: unknown) => e);
  t.true(refusal instanceof VisorError && 'retryAfterSeconds' in refusal && (refusal as { retryAfterSeconds: number }).retryAfterSeconds >= 1);
  // Users sharing the guesser's address are still checked, once for each key the address has not
  // failed on: a right key passes, a guess at a new key is answered once and then waits too.
  t.is(await kindOf(auth.authenticate(`Bearer ${cy}`, 'mallory')), 'ok');
  t.is(await kindOf(auth.authenticate(`Bearer ${wrongSecretFor(bob)}`, 'mallory')), 'unauthenticated');
  t.is(await kindOf(auth.authenticate(`Bearer ${wrongSecretFor(bob)}`, 'mallory')), 'too_many_requests');
  t.is(await kindOf(auth.authenticate(`Bearer ${bob}`, 'mallory')), 'too_many_requests', 'the guessed key waits, from that address only');
  // Another client (the owner elsewhere) is checked as usual, and right keys spend no budget.
  t.is(await kindOf(auth.authenticate(`Bearer ${ana}`, 'owner')), 'ok');
  for (let i = 0; i < 5; i++) t.is(await kindOf(auth.authenticate(`Bearer ${bob}`, 'office')), 'ok');
  t.is(await kindOf(auth.authenticate(`Bearer ${wrongSecretFor(bob)}`, 'office')), 'unauthenticated', 'a wrong secret for a verified key costs nothing and is refused');
});

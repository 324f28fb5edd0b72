import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique } from './helpers/images.ts';
import { addGroup, addUser, grant } from './helpers/accounts.ts';
import { AccountStore } from '../src/accounts/AccountStore.ts';
import { generateApiKey } from '../src/accounts/ApiKey.ts';
import { hashSecret } from '../src/accounts/SecretHash.ts';
import { ApiKeyAuthenticator } from '../src/accounts/ApiKeyAuthenticator.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon();
});
test.after.always(async () => {
  await d?.stop();
});

const problemsOf = (json: unknown) => (json as { error: { problems: { field: string; rule: string }[] } }).error.problems;

test('the admin token is the key of the first admin account', async (t) => {
  const me = await call(d, d.token, 'GET', '/whoami');
  t.is(me.status, 200);
  t.like(me.json as object, { name: 'admin', role: 'admin', disabled: false });
  t.regex(d.token, /^visor_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
  t.is((me.json as { key_id: string }).key_id, d.token.slice(6, 22), 'the key id is the visible part of the key');
  t.is((await stat(join(d.dataDir, 'admin-token'))).mode & 0o777, 0o600);
});

test('the account file is owner-only, outside the catalogue, and holds slow salted hashes, never keys', async (t) => {
  const name = unique('hashed');
  const key = await addUser(d, name);
  const file = join(d.dataDir, 'accounts.json');
  t.is((await stat(file)).mode & 0o777, 0o600);
  const text = await readFile(file, 'utf8');
  t.false(text.includes(key.slice(23)), 'no secret');
  t.false(text.includes(d.token.slice(23)), 'not even the admin one');
  const stored = JSON.parse(text) as { users: Record<string, { key: { hash: string } }> };
  const hash = stored.users[name]!.key.hash;
  t.regex(hash, /^scrypt\$10\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/, 'at the configured cost (the tests use 10)');
  t.regex(await hashSecret('x'), /^scrypt\$15\$8\$1\$/, 'the default cost');
  t.not(stored.users['admin']!.key.hash.split('$')[4], hash.split('$')[4], 'each hash has its own salt');
  t.false(d.daemon.config.catalog.path.startsWith(join(d.dataDir, 'accounts')), 'the catalogue is elsewhere');
});

test('a key is shown once, when made; listings show key ids only', async (t) => {
  const name = unique('once');
  const created = await call(d, d.token, 'POST', '/users', { name });
  t.is(created.status, 201);
  t.is(created.headers.get('cache-control'), 'no-store');
  t.is(created.headers.get('location'), `/users/${name}`);
  const { key, user } = created.json as { key: string; user: { key_id: string; role: string } };
  t.is(user.role, 'user');
  for (const path of ['/users', `/users/${name}`]) {
    const answer = await call(d, d.token, 'GET', path);
    t.is(answer.status, 200);
    t.false(answer.text.includes(key.slice(23)), path);
    t.false(answer.text.includes('scrypt'), path);
    t.true(answer.text.includes(user.key_id), path);
  }
});

test('account input is checked field by field', async (t) => {
  const cases: [unknown, string, string][] = [
    [{ name: 'Alice' }, 'name', 'pattern'],
    [{ name: '../admin' }, 'name', 'pattern'],
    [{ name: `a${'b'.repeat(63)}` }, 'name', 'pattern'],
    [{ name: 'visor' }, 'name', 'reserved'],
    [{}, 'name', 'required'],
    [{ name: unique('x'), role: 'root' }, 'role', 'enum'],
    [{ name: unique('x'), groups: ['no-such-group'] }, 'groups[0]', 'exists'],
    [{ name: unique('x'), key: 'visor_0000000000000000_chosen-by-the-client-aaaaaaaaaaaaaaaaaaaa' }, 'key', 'additionalProperties'],
    [{ name: unique('x'), disabled: false }, 'disabled', 'additionalProperties'],
  ];
  for (const [body, field, rule] of cases) {
    const answer = await call(d, d.token, 'POST', '/users', body);
    t.is(answer.status, 400, JSON.stringify(body));
    t.like(problemsOf(answer.json)[0], { field, rule }, JSON.stringify(body));
  }
  const name = unique('dup');
  await addUser(d, name);
  t.is((await call(d, d.token, 'POST', '/users', { name })).status, 409);
  t.is((await call(d, d.token, 'PUT', `/users/${name}`, { disabled: 'yes' })).status, 400);
  t.is((await call(d, d.token, 'PUT', `/users/${name}`, { role: 'admin' })).status, 400, 'roles are chosen at creation');
  t.is((await call(d, d.token, 'PUT', '/users/nobody-at-all', { disabled: true })).status, 404);
});

test('an account made admin manages accounts; a user reads and rotates only its own', async (t) => {
  const boss = unique('boss');
  const bossKey = await addUser(d, boss, { role: 'admin' });
  const worker = unique('worker');
  const workerKey = await addUser(d, worker);
  t.is((await call(d, bossKey, 'GET', '/users')).status, 200);
  t.is((await call(d, workerKey, 'GET', `/users/${worker}`)).status, 200);
  t.is((await call(d, workerKey, 'GET', `/users/${boss}`)).status, 403);
  const rotated = await call(d, workerKey, 'POST', `/users/${worker}/key`);
  t.is(rotated.status, 200);
  const newKey = (rotated.json as { key: string }).key;
  t.is((await call(d, workerKey, 'GET', '/whoami')).status, 401, 'the old key stops at once');
  t.like((await call(d, newKey, 'GET', '/whoami')).json as object, { name: worker });
});

test('the last enabled admin can be neither disabled nor removed', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-admins-'));
  const solo = await startTestDaemon({ dataDir: dir });
  try {
    t.is((await call(solo, solo.token, 'PUT', '/users/admin', { disabled: true })).status, 409);
    t.is((await call(solo, solo.token, 'DELETE', '/users/admin')).status, 409);
    const second = await addUser(solo, 'second', { role: 'admin' });
    t.is((await call(solo, solo.token, 'PUT', '/users/admin', { disabled: true })).status, 200, 'with another admin it can');
    t.is((await call(solo, second, 'PUT', '/users/second', { disabled: true })).status, 409, 'and then the other is the last');
  } finally {
    await solo.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('group membership grants access at once, and leaving revokes it at once', async (t) => {
  const owner = unique('gowner');
  const ownerKey = await addUser(d, owner);
  const member = unique('member');
  const memberKey = await addUser(d, member);
  const team = unique('team');
  await addGroup(d, team, []);
  const id = await createImage(d, ownerKey, { name: 'team-image' });
  await grant(d, ownerKey, id, 'groups', team, 'commit');
  t.is((await call(d, memberKey, 'GET', `/images/${id}`)).status, 404);
  t.is((await call(d, d.token, 'PUT', `/groups/${team}/members/${member}`)).status, 200);
  t.is((await call(d, memberKey, 'PUT', `/images/${id}`, { description: 'team work' })).status, 200, 'the same key, now a member');
  t.deepEqual(((await call(d, memberKey, 'GET', '/whoami')).json as { groups: string[] }).groups, [team]);
  t.is((await call(d, d.token, 'DELETE', `/groups/${team}/members/${member}`)).status, 200);
  t.is((await call(d, memberKey, 'GET', `/images/${id}`)).status, 404);
  t.is((await call(d, d.token, 'DELETE', `/groups/${team}/members/${member}`)).status, 404, 'not a member any more');
});

test('removing a user or group drops its grants, memberships and key; the name is never reused', async (t) => {
  const owner = unique('rowner');
  const ownerKey = await addUser(d, owner);
  const leaver = unique('leaver');
  await addUser(d, leaver);
  const crew = unique('crew');
  await addGroup(d, crew, [leaver]);
  const id = await createImage(d, ownerKey, { name: 'shared' });
  await grant(d, ownerKey, id, 'users', leaver, 'checkout');
  await grant(d, ownerKey, id, 'groups', crew, 'commit');
  t.is((await call(d, d.token, 'DELETE', `/users/${leaver}`)).status, 200);
  t.deepEqual(((await call(d, ownerKey, 'GET', `/images/${id}/grants`)).json as { users: object }).users, {});
  t.deepEqual(((await call(d, d.token, 'GET', '/groups')).json as { groups: { name: string; members: string[] }[] }).groups.find((g) => g.name === crew)?.members, []);
  t.is((await call(d, d.token, 'POST', '/users', { name: leaver })).status, 409, 'a new account could otherwise inherit what the old one owned');
  t.is((await call(d, d.token, 'DELETE', `/groups/${crew}`)).status, 200);
  t.deepEqual(((await call(d, ownerKey, 'GET', `/images/${id}/grants`)).json as { groups: object }).groups, {});
  // The removed owner's images stay, in the admins' hands.
  const orphan = await createImage(d, ownerKey, { name: 'orphan' });
  await call(d, d.token, 'DELETE', `/users/${owner}`);
  t.like((await call(d, d.token, 'GET', `/images/${orphan}`)).json as object, { owner });
  t.is((await call(d, d.token, 'DELETE', `/images/${orphan}`)).status, 200);
});

test('rotating the first admin key keeps the admin-token file usable', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-rotate-'));
  const solo = await startTestDaemon({ dataDir: dir });
  try {
    const rotated = await call(solo, solo.token, 'POST', '/users/admin/key');
    const key = (rotated.json as { key: string }).key;
    t.is((await readFile(join(dir, 'admin-token'), 'utf8')).trim(), key);
    t.is((await stat(join(dir, 'admin-token'))).mode & 0o777, 0o600);
    t.is((await call(solo, solo.token, 'GET', '/whoami')).status, 401);
  } finally {
    await solo.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('accounts, keys and grants survive a restart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-restart-'));
  let daemon = await startTestDaemon({ dataDir: dir });
  try {
    const key = await addUser(daemon, 'keeper');
    const reader = await addUser(daemon, 'reader');
    const id = await createImage(daemon, key, { name: 'kept' });
    await grant(daemon, key, id, 'users', 'reader', 'checkout');
    daemon = await daemon.restart();
    t.is((await call(daemon, key, 'GET', `/images/${id}`)).status, 200);
    t.is((await call(daemon, reader, 'GET', `/images/${id}`)).status, 200);
    t.is((await call(daemon, daemon.token, 'GET', '/whoami')).status, 200);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an admin token from before user accounts becomes the admin account key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-legacy-'));
  const legacy = `visor_${randomBytes(32).toString('base64url')}`;
  await writeFile(join(dir, 'admin-token'), `${legacy}\n`, { mode: 0o600 });
  const daemon = await startTestDaemon({ dataDir: dir });
  try {
    t.is(daemon.token, legacy);
    t.like((await call(daemon, legacy, 'GET', '/whoami')).json as object, { name: 'admin', role: 'admin', key_id: 'legacy' });
    t.is((await call(daemon, legacy, 'POST', '/images', { name: 'still works' })).status, 201);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a damaged account file stops the daemon, naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-damaged-'));
  try {
    await writeFile(join(dir, 'accounts.json'), '{"version": 1, "users": ');
    const error = await t.throwsAsync(startTestDaemon({ dataDir: dir }));
    t.regex(error.message, /accounts\.json/);
    await writeFile(join(dir, 'accounts.json'), JSON.stringify({ version: 1, users: { eve: { role: 'root', disabled: false, key: { id: 'x', hash: 'plain' } } }, groups: {}, retired: [] }));
    t.regex((await t.throwsAsync(startTestDaemon({ dataDir: dir }))).message, /accounts\.json is damaged: user eve/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// ─── The authenticator itself ───────────────────────────────────────────────────────────────────

async function storeWithUser(): Promise<{ store: AccountStore; token: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'visor-auth-'));
  const store = await AccountStore.open(join(dir, 'accounts.json'));
  const key = generateApiKey();
  const hash = await hashSecret(key.token, 10);
  await store.change((draft) => {
    draft.users['ana'] = { role: 'user', disabled: false, created_at: '2026-01-01T00:00:00Z', key: { id: key.id, hash, created_at: '2026-01-01T00:00:00Z' } };
  });
  return { store, token: key.token, dir };
}

test('the slow hash is paid once per key; later requests compare a fast digest', async (t) => {
  const { store, token, dir } = await storeWithUser();
  const auth = new ApiKeyAuthenticator(store);
  t.like(await auth.authenticate(`Bearer ${token}`), { name: 'ana', admin: false });
  for (let i = 0; i < 100; i++) await auth.authenticate(`Bearer ${token}`);
  t.deepEqual(auth.checks, { slow: 1, fast: 100 });
  // Once the right token is known, a wrong one for the key is refused without hashing.
  const wrong = `${token.slice(0, 23)}${randomBytes(32).toString('base64url')}`;
  await t.throwsAsync(auth.authenticate(`Bearer ${wrong}`), { instanceOf: VisorError, message: 'invalid API key' });
  t.deepEqual(auth.checks, { slow: 1, fast: 101 });
  await rm(dir, { recursive: true, force: true });
});

test('concurrent first requests share one slow hash, and a flood of unknown secrets is turned away', async (t) => {
  const { store, token, dir } = await storeWithUser();
  const auth = new ApiKeyAuthenticator(store, { concurrentHashes: 1, queuedHashes: 2 });
  const results = await Promise.all(Array.from({ length: 20 }, () => auth.authenticate(`Bearer ${token}`)));
  t.true(results.every((p) => p?.name === 'ana'));
  t.is(auth.checks.slow, 1, 'one hash, not twenty');
  // With no right token cached (a fresh authenticator), each distinct wrong secret costs a hash:
  // for one key at most one runs and two from one client wait; the rest are told to come back (429).
  const fresh = new ApiKeyAuthenticator(store, { concurrentHashes: 1, queuedHashes: 2 });
  const attempts = await Promise.allSettled(Array.from({ length: 6 }, () => fresh.authenticate(`Bearer ${token.slice(0, 23)}${randomBytes(32).toString('base64url')}`)));
  const kinds = attempts.map((a) => (a.status === 'rejected' ? (a.reason as VisorError).kind : 'ok'));
  t.deepEqual(kinds.filter((k) => k === 'unauthenticated').length, 3);
  t.deepEqual(kinds.filter((k) => k === 'too_many_requests').length, 3);
  await rm(dir, { recursive: true, force: true });
});

test('disabling, rotating and removing take effect on the very next request', async (t) => {
  const { store, token, dir } = await storeWithUser();
  const auth = new ApiKeyAuthenticator(store);
  t.truthy(await auth.authenticate(`Bearer ${token}`));
  await store.change((draft) => void (draft.users['ana']!.disabled = true));
  await t.throwsAsync(auth.authenticate(`Bearer ${token}`), { message: 'account ana is disabled' });
  await store.change((draft) => void (draft.users['ana']!.disabled = false));
  t.truthy(await auth.authenticate(`Bearer ${token}`));
  const next = generateApiKey();
  const hash = await hashSecret(next.token, 10);
  await store.change((draft) => void (draft.users['ana']!.key = { id: next.id, hash, created_at: '2026-01-02T00:00:00Z' }));
  await t.throwsAsync(auth.authenticate(`Bearer ${token}`), { message: 'unknown or revoked API key' });
  t.truthy(await auth.authenticate(`Bearer ${next.token}`));
  await rm(dir, { recursive: true, force: true });
});

test('the key hash cost is a setting with bounds', (t) => {
  const env = { HOME: '/nonexistent' };
  t.is(loadConfig({ env }).auth.keyHashCost, 15);
  t.is(loadConfig({ env: { ...env, VISOR_KEY_HASH_COST: '12' } }).auth.keyHashCost, 12);
  t.throws(() => loadConfig({ env, overrides: { auth: { key_hash_cost: 9 } } }), { message: /auth\.key_hash_cost/ });
  t.throws(() => loadConfig({ env, overrides: { auth: { key_hash_cost: 21 } } }), { message: /auth\.key_hash_cost/ });
});

import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { answerOf, call, type Answer } from './helpers/http.ts';
import { createImage, sha256, unique } from './helpers/images.ts';
import { git } from './helpers/gitRepos.ts';
import { addUser, auditEntriesOf, awaitAuditEntries, grant } from './helpers/accounts.ts';

/**
 * Attempts to gain access one does not have. Each must fail, change nothing (catalogues, accounts,
 * grants, files) and be in the audit log. Serial: "nothing changed" is checked over the whole
 * instance, so no other test may change it meanwhile.
 */

let d: TestDaemon;
let owner: { name: string; key: string };
let reader: { name: string; key: string };
let writer: { name: string; key: string };
let stranger: { name: string; key: string };
let privateImage: string;
let publicImage: string;

test.before(async () => {
  d = await startTestDaemon();
  const make = async (prefix: string) => {
    const name = unique(prefix);
    return { name, key: await addUser(d, name) };
  };
  [owner, reader, writer, stranger] = await Promise.all([make('owner'), make('reader'), make('writer'), make('stranger')]);
  privateImage = await createImage(d, owner.key, { name: 'secret', access: 'private', type: 'kernel' });
  publicImage = await createImage(d, owner.key, { name: 'open', access: 'public' });
  for (const id of [privateImage, publicImage]) {
    await grant(d, owner.key, id, 'users', reader.name, 'checkout');
    await grant(d, owner.key, id, 'users', writer.name, 'commit');
  }
});

test.after.always(async () => {
  await d?.stop();
});

/** A fingerprint of everything a request could change. */
async function instanceState(): Promise<string> {
  const head = (dir: string) => git(dir, 'rev-parse', 'HEAD').trim();
  const file = async (name: string) => sha256(await readFile(join(d.dataDir, name)).catch(() => Buffer.alloc(0)));
  return JSON.stringify({
    catalog: head(d.daemon.config.catalog.path),
    private: head(d.daemon.config.catalog.privatePath),
    accounts: await file('accounts.json'),
    grants: await file('grants.json'),
    images: execFileSync('find', [join(d.dataDir, 'images'), '-type', 'f'], { encoding: 'utf8' }).split('\n').sort().join('\n'),
  });
}

/** Runs the attempts, then asserts each failed with the expected status, changed nothing and was logged as refused. */
async function refused(t: ExecutionContext, attempts: [label: string, expected: number, attempt: () => Promise<Answer>][]): Promise<Answer[]> {
  const before = await instanceState();
  const answers: Answer[] = [];
  for (const [label, expected, attempt] of attempts) {
    const answer = await attempt();
    answers.push(answer);
    t.is(answer.status, expected, `${label}: ${answer.text.slice(0, 300)}`);
    t.false(/scrypt\$|visor_[0-9a-f]{16}_/.test(answer.text), `${label}: no key or hash in the answer`);
  }
  t.is(await instanceState(), before, 'nothing changed');
  const ids = answers.map((a) => a.headers.get('x-request-id')!);
  const audit = await auditEntriesOf(d, ids);
  for (const [i, [label]] of attempts.entries()) {
    const entry = audit.get(ids[i]!);
    t.truthy(entry, `${label}: logged`);
    t.not(entry?.outcome, 'ok', `${label}: logged as refused`);
  }
  return answers;
}

test.serial('the owner cannot be chosen by the client, on create or update', async (t) => {
  await refused(t, [
    ['create naming another owner', 400, () => call(d, stranger.key, 'POST', '/images', { name: 'mine', owner: owner.name })],
    ['create naming admin as owner', 400, () => call(d, stranger.key, 'POST', '/images', { name: 'mine', owner: 'admin' })],
    ['commit grantee taking over ownership', 400, () => call(d, writer.key, 'PUT', `/images/${publicImage}`, { owner: writer.name })],
    ['owner handing ownership over by a field', 400, () => call(d, owner.key, 'PUT', `/images/${publicImage}`, { owner: stranger.name })],
  ]);
});

test.serial('grants cannot be smuggled in image bodies', async (t) => {
  const answers = await refused(t, [
    ['grants field on create', 400, () => call(d, stranger.key, 'POST', '/images', { name: 'x', grants: { users: { [stranger.name]: 'commit' } } })],
    ['acl field on update', 400, () => call(d, writer.key, 'PUT', `/images/${publicImage}`, { acl: [stranger.name] })],
    ['permission property on update', 400, () => call(d, writer.key, 'PUT', `/images/${privateImage}`, { properties: { 'visor.grant': `${writer.name}:admin` }, owner: writer.name })],
    ['owner field in a grant body', 400, () => call(d, owner.key, 'PUT', `/images/${publicImage}/grants/users/${stranger.name}`, { permission: 'checkout', owner: stranger.name })],
    ['a permission beyond commit', 400, () => call(d, owner.key, 'PUT', `/images/${publicImage}/grants/users/${stranger.name}`, { permission: 'admin' })],
  ]);
  t.is((answers[4]!.json as { error: { problems: { field: string }[] } }).error.problems[0]?.field, 'permission');
});

test.serial('nobody but the owner and admins grants, not even to themselves', async (t) => {
  await refused(t, [
    ['checkout grantee granting itself commit', 403, () => call(d, reader.key, 'PUT', `/images/${privateImage}/grants/users/${reader.name}`, { permission: 'commit' })],
    ['commit grantee granting a stranger', 403, () => call(d, writer.key, 'PUT', `/images/${privateImage}/grants/users/${stranger.name}`, { permission: 'checkout' })],
    ['commit grantee revoking the reader', 403, () => call(d, writer.key, 'DELETE', `/images/${privateImage}/grants/users/${reader.name}`)],
    ['stranger granting itself a public image', 403, () => call(d, stranger.key, 'PUT', `/images/${publicImage}/grants/users/${stranger.name}`, { permission: 'commit' })],
    ['stranger granting itself a private image', 404, () => call(d, stranger.key, 'PUT', `/images/${privateImage}/grants/users/${stranger.name}`, { permission: 'checkout' })],
    ['owner granting itself', 400, () => call(d, owner.key, 'PUT', `/images/${privateImage}/grants/users/${owner.name}`, { permission: 'commit' })],
    ['grant to an unknown user', 400, () => call(d, owner.key, 'PUT', `/images/${privateImage}/grants/users/nobody-here`, { permission: 'commit' })],
    ['grant to an unknown group', 400, () => call(d, owner.key, 'PUT', `/images/${privateImage}/grants/groups/nobody-here`, { permission: 'commit' })],
    ['anonymous grant', 401, () => call(d, undefined, 'PUT', `/images/${publicImage}/grants/users/${stranger.name}`, { permission: 'commit' })],
    ['user making itself admin', 403, () => call(d, stranger.key, 'POST', '/users', { name: unique('evil'), role: 'admin' })],
    ['user disabling the admin', 403, () => call(d, stranger.key, 'PUT', '/users/admin', { disabled: true })],
    ['user taking the admin key', 403, () => call(d, stranger.key, 'POST', '/users/admin/key')],
  ]);
});

test.serial('a captured key stops working once rotated, disabled or removed', async (t) => {
  const victim = unique('victim');
  const oldKey = await addUser(d, victim);
  const replay = () => call(d, oldKey, 'PUT', `/images/${publicImage}`, { description: 'replayed' });
  t.is((await call(d, oldKey, 'GET', '/whoami')).status, 200, 'the key works while valid');

  const rotated = await call(d, d.token, 'POST', `/users/${victim}/key`);
  const newKey = (rotated.json as { key: string }).key;
  await refused(t, [
    ['old key after rotation, write', 401, replay],
    ['old key after rotation, read', 401, () => call(d, oldKey, 'GET', `/images/${publicImage}`)],
  ]);
  t.is((await call(d, newKey, 'GET', '/whoami')).status, 200);

  await call(d, d.token, 'PUT', `/users/${victim}`, { disabled: true });
  await refused(t, [['key of a disabled account', 401, () => call(d, newKey, 'GET', '/whoami')]]);
  await call(d, d.token, 'PUT', `/users/${victim}`, { disabled: false });
  t.is((await call(d, newKey, 'GET', '/whoami')).status, 200, 'enabling restores the same key');

  await call(d, d.token, 'DELETE', `/users/${victim}`);
  await refused(t, [
    ['key of a removed account', 401, () => call(d, newKey, 'GET', '/whoami')],
    ['a removed name cannot be taken again', 409, () => call(d, d.token, 'POST', '/users', { name: victim })],
  ]);
});

test.serial('a key in the query string is not a credential', async (t) => {
  const [answer] = await refused(t, [['key as ?token=', 404, () => call(d, undefined, 'GET', `/images/${privateImage}?token=${encodeURIComponent(owner.key)}`)]]);
  const entry = (await auditEntriesOf(d, [answer!.headers.get('x-request-id')!])).values().next().value;
  t.is(entry?.user, null);
  t.false(entry!.path.includes(owner.key.slice(23)), 'a key put in a URL is not preserved in the audit log');
  t.regex(entry!.path, /visor_[0-9a-f]{16}_\[redacted\]/);
});

/** Sends a raw request line, untouched by URL normalisation. */
function raw(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const url = new URL(d.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headersOut = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headersOut.set(k, v);
        resolve(answerOf(res.statusCode!, headersOut, Buffer.concat(chunks)));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test.serial('path tricks in ids reach nothing outside the catalogue and reveal nothing', async (t) => {
  const upper = privateImage.toUpperCase();
  await refused(t, [
    ['dot-dot segments', 404, () => raw('/images/../accounts.json')],
    ['encoded dot-dot', 400, () => raw('/images/..%2F..%2Faccounts.json')],
    ['encoded dot-dot to the admin token', 400, () => raw('/images/%2e%2e%2fadmin-token/file')],
    ['a private id in upper case', 400, () => raw(`/images/${upper}`)],
    ['a private id with a suffix', 400, () => raw(`/images/${privateImage}.json`)],
    ['a private id with a NUL', 400, () => raw(`/images/${privateImage}%00`)],
    ['grantee name with dot-dot', 400, () => call(d, owner.key, 'PUT', `/images/${privateImage}/grants/users/..%2F..%2Fadmin`, { permission: 'commit' })],
    ['user name with dot-dot', 403, () => raw('/users/..%2Fadmin', { authorization: `Bearer ${stranger.key}` })],
    ['series name with dot-dot', 400, () => raw('/series/..%2F..%2Fimages/latest')],
  ]);
  // A stranger cannot tell a private image from a missing one, however it asks.
  const missing = '00000000-0000-4000-8000-000000000000';
  for (const path of ['', '/file', '/history', '/grants']) {
    const hidden = await call(d, stranger.key, 'GET', `/images/${privateImage}${path}`);
    const absent = await call(d, stranger.key, 'GET', `/images/${missing}${path}`);
    t.is(hidden.status, 404, path);
    t.is(hidden.text.replace(privateImage, 'ID'), absent.text.replace(missing, 'ID'), `${path}: same answer as for a missing image`);
  }
});

test.serial('malformed, oversized and wrong credentials are refused, logged, and spoil nothing', async (t) => {
  const keyId = /^visor_([0-9a-f]{16})_/.exec(owner.key)![1]!;
  const wrongSecret = `visor_${keyId}_${randomBytes(32).toString('base64url')}`;
  const answers = await refused(t, [
    ['Basic scheme', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: `Basic ${Buffer.from(`${owner.name}:x`).toString('base64')}` })],
    ['empty bearer', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: 'Bearer' })],
    ['not a visor key', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: 'Bearer abc.def.ghi' })],
    ['key with trailing junk', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: `Bearer ${owner.key} x` })],
    ['key cut short', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: `Bearer ${owner.key.slice(0, -1)}` })],
    ['unknown key id', 401, () => call(d, `visor_0123456789abcdef_${randomBytes(32).toString('base64url')}`, 'GET', '/whoami')],
    ['right key id, wrong secret', 401, () => call(d, wrongSecret, 'GET', `/images/${privateImage}`)],
    ['right key id, wrong secret, write', 401, () => call(d, wrongSecret, 'DELETE', `/images/${privateImage}`)],
    ['header of 300 characters', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: `Bearer ${'a'.repeat(293)}` })],
    ['header of 8 KiB', 401, () => call(d, undefined, 'GET', '/whoami', undefined, { authorization: `Bearer ${'a'.repeat(8192)}` })],
  ]);
  for (const a of answers) t.is(a.headers.get('www-authenticate'), 'Bearer realm="visor"');
  const audit = await auditEntriesOf(d, answers.map((a) => a.headers.get('x-request-id')!));
  const wrong = audit.get(answers[6]!.headers.get('x-request-id')!);
  t.is(wrong?.key, keyId, 'the key id a refused key claimed is recorded (never its secret)');
  t.is(wrong?.user, null);
  t.false(JSON.stringify([...audit.values()]).includes(wrongSecret.slice(-43)), 'secrets never enter the audit log');
  t.is((await call(d, owner.key, 'GET', `/images/${privateImage}`)).status, 200, 'the right key still works after wrong ones');
  t.is((await call(d, `${owner.key}`, 'GET', '/whoami', undefined, { authorization: `bearer ${owner.key}` })).status, 200, 'the scheme is case-insensitive');
});

test.serial('headers too big for the HTTP parser are refused with 431 and logged', async (t) => {
  const before = await instanceState();
  const answer = await raw('/whoami', { authorization: `Bearer ${'a'.repeat(20_000)}` }).catch(() => undefined);
  if (answer) t.is(answer.status, 431);
  t.is(await instanceState(), before);
  const logged = await awaitAuditEntries(d, (e) => e.action === 'http.malformed' && e.status === 431);
  t.true(logged.length > 0);
});

test.serial('references cannot probe for private images, and conflicts do not name them', async (t) => {
  const [probe, probeMissing] = await refused(t, [
    ['kernel naming a private kernel', 400, () => call(d, stranger.key, 'POST', '/images', { name: 'probe', kernel: privateImage })],
    ['kernel naming a missing image', 400, () => call(d, stranger.key, 'POST', '/images', { name: 'probe', kernel: '00000000-0000-4000-8000-000000000000' })],
  ]);
  const problem = (a: Answer) => (a.json as { error: { problems: { rule: string; message: string }[] } }).error.problems[0]!;
  t.is(problem(probe!).message.replace(privateImage, 'ID'), problem(probeMissing!).message.replace('00000000-0000-4000-8000-000000000000', 'ID'));

  // The reader may use the private kernel it can see; its owner then cannot delete it, and is told why
  // without the reader's private image being named... unless it can see it (the owner cannot).
  const vm = await createImage(d, reader.key, { name: 'vm', access: 'private', kernel: privateImage });
  const del = await call(d, owner.key, 'DELETE', `/images/${privateImage}`);
  t.is(del.status, 409);
  t.false(del.text.includes(vm), 'the referrer the owner cannot see is not named');
  t.regex(del.text, /1 image\(s\) you cannot see/);
  const byAdmin = await call(d, d.token, 'DELETE', `/images/${privateImage}`);
  t.is(byAdmin.status, 409);
  t.true(byAdmin.text.includes(vm), 'an admin sees which image it is');
});

import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique } from './helpers/images.ts';
import { git, recordFile } from './helpers/gitRepos.ts';
import { addUser, auditEntries, auditEntriesOf, grant } from './helpers/accounts.ts';
import type { UsageReport } from '../src/tracking/UsageReport.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';

let d: TestDaemon;
test.before(async () => {
  d = await startTestDaemon();
});
test.after.always(async () => {
  await d?.stop();
});

const requestId = (a: { headers: Headers }) => a.headers.get('x-request-id')!;

test('every operation is recorded: who, what, which image, when, from where, how it ended', async (t) => {
  const name = unique('auditee');
  const key = await addUser(d, name);
  const keyId = key.slice(6, 22);
  const content = randomBytes(4096);
  const created = await call(d, key, 'POST', '/images', { name: 'audited', access: 'private' }, { 'user-agent': 'audit-test/1' });
  const id = (created.json as { id: string }).id;
  const steps = [
    created,
    await call(d, key, 'PUT', `/images/${id}`, { description: 'x' }),
    await call(d, key, 'PUT', `/images/${id}/file`, content),
    await call(d, key, 'GET', `/images/${id}/file`),
    await call(d, undefined, 'GET', `/images/${id}`),
    await call(d, key, 'DELETE', `/images/${id}`),
  ];
  const audit = await auditEntriesOf(d, steps.map(requestId));
  const [create, update, upload, download, peek, remove] = steps.map((s) => audit.get(requestId(s))!);
  t.like(create, { user: name, key: keyId, action: 'image.create', method: 'POST', path: '/images', image: id, status: 201, outcome: 'ok', agent: 'audit-test/1' });
  t.regex(create!.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.regex(create!.ip, /127\.0\.0\.1/);
  t.true(create!.ms >= 0);
  t.like(update, { user: name, action: 'image.update', image: id, status: 200, outcome: 'ok' });
  t.like(upload, { user: name, action: 'image.upload', image: id, status: 200, outcome: 'ok' });
  t.like(download, { user: name, action: 'image.download', image: id, status: 200, outcome: 'ok', bytes: 4096 });
  t.like(peek, { user: null, action: 'image.show', image: id, status: 404, outcome: 'denied' });
  t.regex(peek!.reason!, /anonymous may not see private image/);
  t.like(remove, { user: name, action: 'image.delete', image: id, status: 200, outcome: 'ok' });
  t.is(requestId(steps[0]!).length, 36);
});

test('account operations are recorded without the keys they issue', async (t) => {
  const name = unique('issued');
  const created = await call(d, d.token, 'POST', '/users', { name });
  const key = (created.json as { key: string }).key;
  const rotated = await call(d, d.token, 'POST', `/users/${name}/key`);
  const audit = await auditEntriesOf(d, [requestId(created), requestId(rotated)]);
  t.like(audit.get(requestId(created)), { user: 'admin', action: 'user.create', status: 201 });
  t.like(audit.get(requestId(rotated)), { user: 'admin', action: 'user.rotate_key', status: 200 });
  const log = await readFile(join(d.daemon.config.audit.dir, 'audit.log'), 'utf8');
  t.false(log.includes(key.slice(23)));
  t.false(log.includes(((rotated.json as { key: string }).key).slice(23)));
  t.false(log.includes(d.token.slice(23)));
});

test('a download cut off by the client is recorded as aborted', async (t) => {
  const id = await createImage(d, d.token, { name: 'big', access: 'public' });
  const up = await call(d, d.token, 'PUT', `/images/${id}/file`, randomBytes(32 * 1024 * 1024));
  t.is(up.status, 200);
  const url = new URL(`${d.url}/images/${id}/file`);
  const requestIdOfCut = await new Promise<string>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve(String(res.headers['x-request-id']));
      });
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' ? undefined : reject(e)));
    req.end();
  });
  const audit = await auditEntriesOf(d, [requestIdOfCut]);
  t.like(audit.get(requestIdOfCut), { action: 'image.download', status: 200, outcome: 'aborted', user: null });
  t.is(audit.get(requestIdOfCut)?.bytes, undefined, 'no claim that the bytes were sent');
});

test('the audit log is owner-only and append-only across restarts', async (t) => {
  const daemon = await startTestDaemon();
  try {
    const first = await call(daemon, undefined, 'GET', '/images');
    await auditEntriesOf(daemon, [requestId(first)]);
    const dir = daemon.daemon.config.audit.dir;
    t.is((await stat(dir)).mode & 0o777, 0o700);
    t.is((await stat(join(dir, 'audit.log'))).mode & 0o777, 0o600);
    const before = await readFile(join(dir, 'audit.log'), 'utf8');
    const again = await daemon.restart();
    const second = await call(again, undefined, 'GET', '/images');
    await auditEntriesOf(again, [requestId(second)]);
    const after = await readFile(join(dir, 'audit.log'), 'utf8');
    t.true(after.startsWith(before), 'earlier lines are kept as they were');
    t.deepEqual((await auditEntries(again)).map((e) => e.request).filter((r) => r === requestId(first) || r === requestId(second)), [requestId(first), requestId(second)]);
    await again.stop();
  } catch (e) {
    await daemon.stop().catch(() => undefined);
    throw e;
  }
});

test('the audit log rotates by size and keeps the configured number of files', async (t) => {
  const daemon = await startTestDaemon({ config: { audit: { max_bytes: 2048, keep: 2 } } });
  try {
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      ids.push(requestId(await call(daemon, undefined, 'GET', `/images?limit=${i + 1}`)));
      // One line written at a time: lines queued while the disk is busy are appended together, and
      // a large batch could fill a whole file and make the rotation count below a matter of timing.
      await auditEntriesOf(daemon, ids.slice(-1));
    }
    const dir = daemon.daemon.config.audit.dir;
    t.deepEqual((await readdir(dir)).sort(), ['audit.log', 'audit.log.1', 'audit.log.2']);
    for (const f of ['audit.log.1', 'audit.log.2']) t.true((await stat(join(dir, f))).size >= 2048, `${f} was full when rotated`);
    // Oldest first, no line lost between the kept files.
    const kept = (await auditEntries(daemon)).map((e) => e.request);
    const tail = ids.slice(ids.indexOf(kept[0]!));
    t.deepEqual(kept, tail);
    t.true(kept.length < ids.length, 'the oldest file was deleted');
  } finally {
    await daemon.stop();
  }
});

test('catalogue commits name the acting user as their author', async (t) => {
  const owner = unique('author');
  const ownerKey = await addUser(d, owner);
  const helper = unique('helper');
  const helperKey = await addUser(d, helper);
  const id = await createImage(d, ownerKey, { name: 'authored', access: 'public' });
  await grant(d, ownerKey, id, 'users', helper, 'commit');
  t.is((await call(d, helperKey, 'PUT', `/images/${id}`, { description: 'helped' })).status, 200);
  const log = git(d.daemon.config.catalog.path, 'log', '--format=%an <%ae>|%s', '--', recordFile(id));
  t.true(log.includes(`${helper} <${helper}@visor.invalid>|Update image ${id}: description`));
  t.true(log.includes(`${owner} <${owner}@visor.invalid>|Register image ${id}`));
});

test('the usage report: downloads, unused images, activity per user, storage per store and owner', async (t) => {
  const daemon = await startTestDaemon();
  try {
    const alice = await addUser(daemon, 'alice');
    const bob = await addUser(daemon, 'bob');
    const popular = await createImage(daemon, alice, { name: 'popular', access: 'public' });
    const quiet = await createImage(daemon, alice, { name: 'quiet', access: 'public' });
    const bobs = await createImage(daemon, bob, { name: 'bobs', access: 'private' });
    await createImage(daemon, bob, { name: 'never-uploaded' });
    await call(daemon, alice, 'PUT', `/images/${popular}/file`, randomBytes(1000));
    await call(daemon, alice, 'PUT', `/images/${quiet}/file`, randomBytes(3000));
    await call(daemon, bob, 'PUT', `/images/${bobs}/file`, randomBytes(500));
    for (let i = 0; i < 3; i++) await call(daemon, bob, 'GET', `/images/${popular}/file`);
    await call(daemon, undefined, 'GET', `/images/${popular}/file`);
    await call(daemon, bob, 'GET', `/images/${quiet}/file`, undefined, { range: 'bytes=10-20' });
    await call(daemon, bob, 'DELETE', `/images/${popular}`);

    const res = await call(daemon, daemon.token, 'GET', '/report?top=2&unused_days=0&activity_days=1');
    t.is(res.status, 200, res.text);
    const r = res.json as UsageReport;
    t.is(r.images, 4);
    t.deepEqual(r.most_downloaded.map((i) => [i.name, i.downloads]), [['popular', 4]], 'a ranged read is not a download');
    t.deepEqual(r.least_downloaded.map((i) => [i.name, i.downloads]), [['quiet', 0], ['bobs', 0]], 'ties: unused longest first');
    t.is(r.unused.count, 4, 'with 0 days, everything last used before now');
    t.deepEqual(r.storage.by_store['fs'], { files: 3, bytes: 4500 });
    t.deepEqual(r.storage.by_owner, { alice: { files: 2, bytes: 4000 }, bob: { files: 1, bytes: 500 } });
    const users = Object.fromEntries(r.activity.users.map((u) => [u.user, u]));
    t.like(users['bob'], { downloads: 3, denied: 1 });
    t.like(users['alice'], { writes: 4, denied: 0, downloads: 0 });
    t.like(users['(anonymous)'], { downloads: 1 });
    t.like(users['admin'], { writes: 2 });

    const later = (await call(daemon, daemon.token, 'GET', '/report?unused_days=1000')).json as UsageReport;
    t.is(later.unused.count, 0);
    t.is(later.most_downloaded.length, 1);
    const bad = await call(daemon, daemon.token, 'GET', '/report?days=3');
    t.is(bad.status, 400);
    t.is((bad.json as { error: { problems: { field: string }[] } }).error.problems[0]?.field, 'days');
    t.is((await call(daemon, daemon.token, 'GET', '/report?top=-1')).status, 400);
  } finally {
    await daemon.stop();
  }
});

test('audit settings are checked', (t) => {
  const env = { HOME: '/nonexistent' };
  t.like(loadConfig({ env }).audit, { maxBytes: 64 * 2 ** 20, keep: 10 });
  t.like(loadConfig({ env: { ...env, VISOR_AUDIT_PATH: '/var/log/visor', VISOR_AUDIT_KEEP: '3' } }).audit, { dir: '/var/log/visor', keep: 3 });
  t.throws(() => loadConfig({ env, overrides: { audit: { max_bytes: 10 } } }), { message: /audit\.max_bytes/ });
  t.throws(() => loadConfig({ env, overrides: { audit: { keep: -1 } } }), { message: /audit\.keep/ });
});

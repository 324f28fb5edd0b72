/**
 * Forges notify a follower of pushes without holding any API key: a shared secret proves each
 * notification; and a `sync` account may trigger syncs and do nothing else.
 */
import test from 'ava';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { createImage } from './helpers/images.ts';
import { pollUntil } from './helpers/polling.ts';
import { git, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';

const SECRET = 'forge-and-follower-share-this';

let upstream: string;
let d: TestDaemon;

test.before(async () => {
  const root = await tempDir();
  upstream = join(root, 'public');
  await initCatalog(upstream);
  git(upstream, 'commit', '-q', '--amend', '--reset-author', '--no-edit');
  d = await startTestDaemon({ config: { upstreams: { public: { url: upstream, interval_seconds: 0, webhook_secret: SECRET }, quiet: { url: upstream, interval_seconds: 0 }, broken: { url: join(root, 'no-such-repository'), interval_seconds: 0 } } } });
});

test.after.always(async () => {
  await d?.stop();
});

async function publish(name: string): Promise<string> {
  const record = imageRecord({ name, origin: 'upstream.example' });
  await writeRecordFile(upstream, record);
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '-m', `publish ${name}`);
  return record.id;
}

const payload = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: 'http://attacker.invalid/evil.git' } });
const hmac = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');

function notify(upstreamName: string, headers: Record<string, string>, body = payload) {
  return call(d, undefined, 'POST', `/sync/webhooks/${upstreamName}`, Buffer.from(body), { 'content-type': 'application/json', ...headers });
}

const visible = (id: string) => pollUntil(async () => (await call(d, undefined, 'GET', `/images/${id}`)).status, (s) => s === 200, { within: 15_000 });

test.serial('each forge\'s proof of the secret starts a sync: GitHub, Gitea and GitLab', async (t) => {
  for (const [forge, headers] of [
    ['github', (body: string) => ({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac(body)}` })],
    ['gitea', (body: string) => ({ 'x-gitea-event': 'push', 'x-gitea-signature': hmac(body) })],
    ['gitlab', () => ({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET })],
  ] as const) {
    const id = await publish(`pushed-via-${forge}`);
    const answer = await notify('public', headers(payload));
    t.is(answer.status, 202, forge);
    t.deepEqual(answer.json, { upstream: 'public', sync: 'queued' });
    t.is(await visible(id), 200, `${forge}: the pushed image arrives`);
  }
});

test.serial('a notification without the secret changes nothing: wrong, missing or another body\'s signature is 401', async (t) => {
  const shared = join(d.dataDir, 'catalog');
  const id = await publish('must-not-arrive-yet');
  const head = git(shared, 'rev-parse', 'HEAD');
  const attempts: Array<Record<string, string>> = [
    { 'x-hub-signature-256': `sha256=${hmac(payload, 'not-the-secret-at-all')}` },
    { 'x-hub-signature-256': hmac(payload) },
    { 'x-hub-signature-256': `sha256=${hmac('{"another":"body"}')}` },
    { 'x-gitea-signature': hmac(payload, 'not-the-secret-at-all') },
    { 'x-gitlab-token': 'not-the-secret-at-all' },
    {},
  ];
  for (const headers of attempts) {
    const answer = await notify('public', headers);
    t.is(answer.status, 401, JSON.stringify(headers));
    t.is((answer.json as { error: { code: string } }).error.code, 'unauthenticated');
  }
  await new Promise((r) => setTimeout(r, 300));
  t.is(git(shared, 'rev-parse', 'HEAD'), head, 'no sync ran');
  t.is((await call(d, undefined, 'GET', `/images/${id}`)).status, 404);
});

test.serial('an upstream that is unknown or has no webhook secret answers as a wrong proof does: 401, whatever the proof', async (t) => {
  const wrong = await notify('public', { 'x-gitlab-token': 'not-the-secret-at-all' });
  for (const name of ['quiet', 'no-such-upstream']) {
    const proofs: Array<Record<string, string>> = [{ 'x-gitlab-token': SECRET }, { 'x-hub-signature-256': `sha256=${hmac(payload)}` }];
    for (const headers of proofs) {
      const answer = await notify(name, headers);
      t.is(answer.status, 401, name);
      t.is(answer.text.replace(name, 'public'), wrong.text, 'the same answer as a wrong proof for a configured upstream');
    }
  }
});

test.serial('a sync account may trigger syncs and nothing else; a plain user may not trigger them', async (t) => {
  const syncKey = (await call(d, d.token, 'POST', '/users', { name: 'forge-bot', role: 'sync' }).then((r) => (r.json as { key: string }).key));
  const user = await addUser(d, 'plain-user');
  const id = await publish('arrives-by-sync-role');
  t.is((await call(d, user, 'POST', '/sync?upstream=public')).status, 403);
  t.is((await call(d, syncKey, 'POST', '/sync?upstream=public')).status, 200);
  t.is((await call(d, undefined, 'GET', `/images/${id}`)).status, 200);
  // Nothing else: no writes, no admin reads, and no private image even when granted to its name.
  t.is((await call(d, syncKey, 'POST', '/images', { name: 'by-the-bot', access: 'public' })).status, 403);
  t.is((await call(d, syncKey, 'GET', '/users')).status, 403);
  t.is((await call(d, syncKey, 'GET', '/report')).status, 403);
  const secret = await createImage(d, user, { name: 'users-secret', access: 'private' });
  await grant(d, user, secret, 'users', 'forge-bot', 'commit');
  t.is((await call(d, syncKey, 'GET', `/images/${secret}`)).status, 404);
  // Refused for its role before any image is looked at: the same answer for an image that exists or not.
  t.is((await call(d, syncKey, 'PUT', `/images/${secret}`, { description: 'changed by the bot' })).status, 403);
  t.is((await call(d, syncKey, 'PUT', `/images/${crypto.randomUUID()}`, { description: 'changed by the bot' })).status, 403);
  t.is((await call(d, syncKey, 'GET', '/images')).status, 200, 'public reads, as anyone');
});

test('a webhook secret shorter than 16 characters is refused, naming the setting and its variable', (t) => {
  const error = t.throws(() => loadConfig({ env: { HOME: '/nonexistent' }, overrides: { upstreams: { forge: { url: '/tmp/x', webhook_secret: 'short' } } } }));
  t.regex(error.message, /upstreams\.forge\.webhook_secret/);
  t.regex(JSON.stringify(error), /VISOR_UPSTREAM_FORGE_WEBHOOK_SECRET/);
});

test.serial('a failed sync tells a sync account only that it failed; an admin reads why', async (t) => {
  const syncKey = (await call(d, d.token, 'POST', '/users', { name: 'failing-bot', role: 'sync' })).json as { key: string };
  const asBot = await call(d, syncKey.key, 'POST', '/sync?upstream=broken');
  t.is(asBot.status, 502);
  t.notRegex(asBot.text, /no-such-repository|\/tmp\//, 'no URL, no path');
  t.regex(asBot.text, /the daemon log says why/);
  const asAdmin = await call(d, d.token, 'POST', '/sync?upstream=broken');
  t.is(asAdmin.status, 502);
  t.regex(asAdmin.text, /no-such-repository/);
});

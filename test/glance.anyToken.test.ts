/**
 * glance.any_token_account, for closed test clouds: on the Glance v2 edge any X-Auth-Token that is
 * not a VISOR key acts as one named account; real keys keep their own account, and nothing else
 * changes (VISOR's own routes, Authorization headers, daemons without the setting).
 */
import test from 'ava';
import { startTestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { addUser } from './helpers/accounts.ts';
import { createImage, unique } from './helpers/images.ts';
import { tempDir } from './helpers/gitRepos.ts';

const token = (value: string) => ({ 'x-auth-token': value });

test('with glance.any_token_account, any token on /v2 is that account; real keys, Authorization and VISOR routes are unchanged', async (t) => {
  // A data directory of the test's own: kept across the restarts below.
  const dataDir = await tempDir('visor-any-token-');
  const plain = await startTestDaemon({ dataDir });
  const bob = await addUser(plain, 'cloudbob');
  const mine = await createImage(plain, bob, { name: unique('bobs-private'), access: 'private' });
  await plain.stop();
  const d = await startTestDaemon({ dataDir, config: { glance: { any_token_account: 'cloudbob' } } });
  try {
    const list = await call(d, undefined, 'GET', '/v2/images', undefined, token('keystone-stand-in-token'));
    t.is(list.status, 200);
    t.true((list.json as { images: Array<{ id: string }> }).images.some((i) => i.id === mine), "the token acts as cloudbob: its private image is listed");
    t.is((await call(d, undefined, 'GET', `/v2/images/${mine}`, undefined, token('anything'))).status, 200);
    // Through the full stack too (a write is not a hot read): the image is cloudbob's.
    const created = await call(d, undefined, 'POST', '/v2/images', { name: unique('via-any-token'), disk_format: 'raw', container_format: 'bare' }, token('keystone-stand-in-token'));
    t.is(created.status, 201, created.text);
    t.is((created.json as { owner: string }).owner, 'cloudbob');
    // A VISOR key is still its own account: the admin sees the image as admin, not as cloudbob.
    t.is((await call(d, undefined, 'GET', `/v2/images/${mine}`, undefined, token(d.token))).status, 200);
    // Never on VISOR's own routes, nor for an Authorization header, nor anonymously.
    t.is((await call(d, undefined, 'GET', `/images/${mine}`, undefined, token('anything'))).status, 401);
    t.is((await call(d, undefined, 'GET', '/v2/images', undefined, { authorization: 'Bearer anything' })).status, 401);
    t.is((await call(d, undefined, 'GET', `/v2/images/${mine}`)).status, 404, 'anonymous stays anonymous');
  } finally {
    await d.stop();
  }
  // Without the setting a made-up token is refused on /v2 too.
  const off = await startTestDaemon({ dataDir });
  try {
    t.is((await call(off, undefined, 'GET', '/v2/images', undefined, token('keystone-stand-in-token'))).status, 401);
  } finally {
    await off.stop();
  }
});

test('glance.any_token_account must name an enabled account that is not an admin: the daemon refuses to start and says which setting', async (t) => {
  const error = await t.throwsAsync(startTestDaemon({ config: { glance: { any_token_account: 'nobody' } } }));
  t.regex(String(error?.message), /glance\.any_token_account: nobody is no enabled account/);
  // Any token at all would be an administrator.
  const dataDir = await tempDir('visor-any-token-');
  const plain = await startTestDaemon({ dataDir });
  await addUser(plain, 'cloudadmin', { role: 'admin' });
  await plain.stop();
  const admin = await t.throwsAsync(startTestDaemon({ dataDir, config: { glance: { any_token_account: 'cloudadmin' } } }));
  t.regex(String(admin?.message), /glance\.any_token_account: cloudadmin is an administrator/);
});

import test from 'ava';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { visorAt, type CliOptions } from './helpers/cli.ts';
import { call } from './helpers/http.ts';
import { createImage, unique } from './helpers/images.ts';
import { addUser } from './helpers/accounts.ts';
import type { GroupView, ImageGrantsView, IssuedKey, UsageReport, UserView } from '../src/index.ts';

let d: TestDaemon;
let scratch: string;
test.before(async () => {
  d = await startTestDaemon();
  scratch = await mkdtemp(join(tmpdir(), 'visor-accounts-cli-'));
});
test.after.always(async () => {
  await d?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** `visor` as a user would run it, with the admin key unless the env gives another. */
const visor = (args: string[], env?: CliOptions['env']) => visorAt(d).run(args, { env });
const json = <T>(args: string[], env?: CliOptions['env']) => visorAt(d).json<T>(args, { env });

// Each run of the CLI costs a process start, so outcomes are checked through the API where the CLI
// itself is not the point.
const whoamiStatus = async (key: string) => (await call(d, key, 'GET', '/whoami')).status;

test('an admin manages users and groups; keys are printed once', async (t) => {
  const team = unique('devs');
  const alice = unique('alice');
  const bob = unique('bob');
  t.like(await json<GroupView>(['group', 'create', team]), { name: team, members: [] });
  const people = await visor(['user', 'add', alice, '--group', team]);
  t.is(people.code, 0, people.stderr);
  const aliceKey = /visor_[0-9a-f]{16}_[A-Za-z0-9_-]{43}/.exec(people.stdout)?.[0];
  t.truthy(aliceKey, 'the key is printed');
  t.regex(people.stdout, /shown once/);
  const issued = await json<IssuedKey>(['user', 'add', bob, '--admin']);
  t.like(issued.user, { name: bob, role: 'admin', groups: [] });
  t.is(await whoamiStatus(issued.key), 200);

  const listed = await visor(['user', 'list']);
  t.regex(listed.stdout, new RegExp(`${alice}.*user.*active.*${team}`));
  t.false(listed.stdout.includes(aliceKey!.slice(23)), 'never the secret');
  t.like(await json<UserView>(['user', 'show', alice]), { name: alice, groups: [team] });
  t.like(await json<UserView>(['whoami'], { VISOR_TOKEN: aliceKey }), { name: alice, role: 'user' });

  t.like(await json<UserView>(['user', 'disable', alice]), { disabled: true });
  const refused = await visor(['whoami'], { VISOR_TOKEN: aliceKey });
  t.is(refused.code, 5);
  t.regex(refused.stderr, /disabled/);
  t.like(await json<UserView>(['user', 'enable', alice]), { disabled: false });
  t.is(await whoamiStatus(aliceKey!), 200);

  const rotated = await json<IssuedKey>(['user', 'rotate-key', alice], { VISOR_TOKEN: aliceKey });
  t.is(await whoamiStatus(aliceKey!), 401, 'the old key is dead');
  t.is(await whoamiStatus(rotated.key), 200);

  t.deepEqual((await json<GroupView>(['group', 'add', team, bob])).members, [alice, bob].sort());
  t.deepEqual((await json<GroupView>(['group', 'remove', team, alice])).members, [bob]);
  t.true((await json<GroupView[]>(['group', 'list'])).some((g) => g.name === team));
  t.like(await json<UserView>(['user', 'remove', alice]), { name: alice });
  t.is(await whoamiStatus(rotated.key), 401);
  t.like(await json<GroupView>(['group', 'delete', team]), { name: team });
});

test('owners grant and revoke from the command line', async (t) => {
  const owner = unique('owner');
  const reader = unique('reader');
  const ownerKey = await addUser(d, owner);
  const readerKey = await addUser(d, reader);
  const id = await createImage(d, ownerKey, { name: 'shared-by-cli' });
  const asOwner = { VISOR_TOKEN: ownerKey };
  t.is((await call(d, readerKey, 'GET', `/images/${id}`)).status, 404);
  t.deepEqual((await json<ImageGrantsView>(['grant', id, 'checkout', '--user', reader], asOwner)).users, { [reader]: 'checkout' });
  t.is((await call(d, readerKey, 'GET', `/images/${id}`)).status, 200);
  const shown = await visor(['grants', id], asOwner);
  t.regex(shown.stdout, new RegExp(`user ${reader}: checkout`));
  t.is((await visor(['grant', id, 'commit', '--user', reader], { VISOR_TOKEN: readerKey })).code, 5, 'a grantee cannot raise itself');
  t.is((await visor(['grant', id, 'admin', '--user', reader], asOwner)).code, 2, 'only checkout or commit');
  const neither = await visor(['grant', id, 'commit'], asOwner);
  t.is(neither.code, 2);
  t.regex(neither.stderr, /--user <name> or --group <name>/);
  t.deepEqual((await json<ImageGrantsView>(['revoke', id, '--user', reader], asOwner)).users, {});
  t.is((await call(d, readerKey, 'GET', `/images/${id}`)).status, 404);
});

test('report for admins, refused for users', async (t) => {
  const report = await json<UsageReport>(['report', '--unused-days', '0', '--top', '3']);
  t.is(report.unused.days, 0);
  t.true(Array.isArray(report.activity.users));
  const people = await visor(['report']);
  t.is(people.code, 0, people.stderr);
  t.regex(people.stdout, /most downloaded/);
  t.regex(people.stdout, /activity in the last 30 days/);
  const userKey = await addUser(d, unique('nosy'));
  const refused = await visor(['report'], { VISOR_TOKEN: userKey });
  t.is(refused.code, 5);
  t.regex(refused.stderr, /only admins/);
  t.is((await visor(['user', 'add', unique('sneaky')], { VISOR_TOKEN: userKey })).code, 5);
});

test('a config file others could write is refused as well', async (t) => {
  const home = await mkdtemp(join(scratch, 'cfg-'));
  await mkdir(join(home, '.config', 'visor'), { recursive: true });
  const file = join(home, '.config', 'visor', 'config.json');
  await writeFile(file, JSON.stringify({ url: d.url, token: d.token }));
  await chmod(file, 0o620);
  const refused = await visor(['whoami'], { HOME: home, VISOR_URL: undefined, VISOR_TOKEN: undefined });
  t.is(refused.code, 5);
  t.regex(refused.stderr, /writable by group or others.*chmod 600/);
  await chmod(file, 0o600);
  t.like(await json<UserView>(['whoami'], { HOME: home, VISOR_URL: undefined, VISOR_TOKEN: undefined }), { name: 'admin' });
});

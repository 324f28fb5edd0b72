/**
 * `visor login URL` checks a key against that daemon and keeps it, private to the user, for that URL
 * only; later commands to that URL send it, and commands to any other server (another port, another
 * path prefix on the same host) never do. `visor logout` forgets it. Real daemon, real CLI processes,
 * and a recording server on loopback that writes down every Authorization header it receives.
 */
import test from 'ava';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';
import { addUser } from './helpers/accounts.ts';
import { runVisor, type CliOptions } from './helpers/cli.ts';

interface Recorder {
  url: string;
  seen: Array<{ path: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

/** A stand-in daemon that knows the key 'visor_rec_secret' as alice and lists no images. */
async function recorder(): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const known = req.headers.authorization === 'Bearer visor_rec_secret';
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // The prefixed daemon's first page links to a page outside its prefix (as a hostile or confused proxy might).
    const next = path === '/visor/images' ? { next: `http://${req.headers.host ?? ''}/other/images?page=2` } : {};
    const body = path.endsWith('/whoami') ? (known ? { name: 'alice', role: 'user', groups: [], disabled: false } : { name: null, anonymous: true }) : { images: [], ...next };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise((done) => server.close(() => done())),
  };
}

/** A user's own HOME for a test, with VISOR_URL and VISOR_TOKEN left out. */
async function home(t: { teardown(f: () => Promise<void>): void }): Promise<{ dir: string; env: CliOptions['env']; credentials: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'visor-login-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return { dir, env: { HOME: dir }, credentials: join(dir, '.config', 'visor', 'credentials.json') };
}

test('login keeps a checked key private for that URL; later commands there are authenticated; logout forgets it', async (t) => {
  const d = await startTestDaemon();
  t.teardown(() => d.stop());
  const key = await addUser(d, 'alice');
  const { env, credentials } = await home(t);

  const wrong = await runVisor(['login', d.url, '--token-stdin'], { env, stdin: Buffer.from('visor_nosuchkey_0000\n') });
  t.is(wrong.code, 5, wrong.stderr);
  await t.throwsAsync(stat(credentials), { code: 'ENOENT' }, 'a refused key is not stored');

  const login = await runVisor(['login', `${d.url}/`], { env, stdin: Buffer.from(`${key}\n`) });
  t.is(login.code, 0, login.stderr);
  t.regex(login.stdout, /as alice/);
  t.is((await stat(credentials)).mode & 0o777, 0o600);
  t.is((await stat(join(credentials, '..'))).mode & 0o777, 0o700);
  t.deepEqual(Object.keys((JSON.parse(await readFile(credentials, 'utf8')) as { servers: object }).servers), [d.url]);

  const me = await runVisor(['--json', '--url', d.url, 'whoami'], { env });
  t.is(me.code, 0, me.stderr);
  t.is((JSON.parse(me.stdout) as { name: string }).name, 'alice');

  // The key the user passes explicitly still wins over the stored one.
  const explicit = await runVisor(['--json', '--url', d.url, 'whoami'], { env: { ...env, VISOR_TOKEN: d.token } });
  t.not((JSON.parse(explicit.stdout) as { name: string }).name, 'alice');

  const logout = await runVisor(['logout', d.url], { env });
  t.is(logout.code, 0, logout.stderr);
  await t.throwsAsync(stat(credentials), { code: 'ENOENT' });
  const after = await runVisor(['--json', '--url', d.url, 'whoami'], { env });
  t.is((JSON.parse(after.stdout) as { name: string | null }).name, null);
});

test('a stored key is sent to its own URL only: not to another server, nor another path prefix on the same host, even by a next link', async (t) => {
  const [a, b] = await Promise.all([recorder(), recorder()]);
  t.teardown(async () => {
    await Promise.all([a.close(), b.close()]);
  });
  const { env } = await home(t);
  const login = await runVisor(['login', `${a.url}/visor`, '--token-stdin'], { env, stdin: Buffer.from('visor_rec_secret') });
  t.is(login.code, 0, login.stderr);

  for (const url of [b.url, a.url, `${a.url}/other`, `${a.url}/visor`]) {
    const run = await runVisor(['--url', url, 'list', '--all'], { env });
    t.is(run.code, 0, run.stderr);
  }
  t.true(b.seen.length > 0);
  t.true(b.seen.every((s) => s.authorization === undefined), 'the other daemon never sees the key');
  const onA = a.seen.filter((s) => (s.path.split('?')[0] ?? '').endsWith('/images'));
  t.deepEqual(onA.map((s) => [s.path.split('?')[0], s.authorization]), [
    ['/images', undefined],
    ['/other/images', undefined],
    ['/visor/images', 'Bearer visor_rec_secret'],
    ['/other/images', undefined],
  ]);
});

test('the credentials file is refused when others can read it or it is a symlink; a URL with a password is refused at login', async (t) => {
  const rec = await recorder();
  t.teardown(() => rec.close());
  const { dir, env, credentials } = await home(t);
  t.is((await runVisor(['login', rec.url, '--token-stdin'], { env, stdin: Buffer.from('visor_rec_secret') })).code, 0);

  await chmod(credentials, 0o644);
  const readable = await runVisor(['--url', rec.url, 'list'], { env });
  t.is(readable.code, 5);
  t.regex(readable.stderr, /readable by group or others.*chmod 600/);

  await chmod(credentials, 0o600);
  const elsewhere = join(dir, 'planted.json');
  await writeFile(elsewhere, await readFile(credentials), { mode: 0o600 });
  await rm(credentials);
  await symlink(elsewhere, credentials);
  const linked = await runVisor(['--url', rec.url, 'list'], { env });
  t.is(linked.code, 5);
  t.regex(linked.stderr, /symbolic link/);

  const withPassword = await runVisor(['login', rec.url.replace('http://', 'http://bob:pw@'), '--token-stdin'], { env, stdin: Buffer.from('visor_rec_secret') });
  t.is(withPassword.code, 2);
  t.regex(withPassword.stderr, /must not carry a user name or password/);
  t.true(rec.seen.every((s) => s.authorization === undefined || s.path.endsWith('/whoami')), 'the refused runs sent no key');
});

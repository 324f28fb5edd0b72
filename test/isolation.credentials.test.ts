/**
 * A key goes only to the daemon it belongs to. A second server on loopback records every request's
 * Authorization header; the real `visor` CLI and the VisorClient are pointed at it while the local
 * daemon's admin token lies in the data directory and keys sit in the CLI's config file, and it must
 * receive none of them, not even through a redirect or a `next` link. The rightful daemon still gets
 * its key.
 */
import test from 'ava';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { runVisor } from './helpers/cli.ts';
import { VisorClient } from '../src/index.ts';

interface Seen {
  method: string;
  path: string;
  authorization: string | undefined;
}

interface Recorder {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

const json = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

/** Answers like a daemon with nothing in it: anonymous reads succeed, anything else wants a key. */
const emptyDaemon: Answer = (req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (req.method === 'GET' && path === '/images') return json(res, 200, { images: [] });
  if (req.method === 'GET' && path === '/whoami') return json(res, 200, { name: null, anonymous: true });
  json(res, 401, { error: { code: 'unauthenticated', message: 'an API key is required' } });
};

/** A plain HTTP server on 127.0.0.1 that writes down who called it and with what Authorization. */
async function recorder(answer: Answer = emptyDaemon): Promise<Recorder> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    req.on('end', () => answer(req, res));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

const portOf = (url: string): number => Number(new URL(url).port);

let daemon: TestDaemon;
let scratch: string;

test.before(async () => {
  daemon = await startTestDaemon();
  // The local daemon's configuration names the port it listens on, as an operator's visor.toml would.
  await writeFile(join(daemon.dataDir, 'visor.toml'), `[server]\nport = ${portOf(daemon.url)}\n`);
  scratch = await mkdtemp(join(tmpdir(), 'visor-credentials-'));
});

test.after.always(async () => {
  await daemon?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The CLI as on the daemon's host: its data directory (admin token and visor.toml) found, no token given. */
const onDaemonHost = (env: Record<string, string | undefined> = {}) => ({ env: { VISOR_DATA_DIR: daemon.dataDir, ...env } });

/** Runs `body` with a fresh stranger (tests run concurrently: each keeps its own record), then stops it. */
async function withStranger<T>(body: (stranger: Recorder) => Promise<T>, answer?: Answer): Promise<T> {
  const stranger = await recorder(answer);
  try {
    return await body(stranger);
  } finally {
    await stranger.close();
  }
}

/** A HOME whose ~/.config/visor/config.json holds `config`, mode 0600. */
async function homeWithConfig(config: unknown): Promise<string> {
  const home = await mkdtemp(join(scratch, 'home-'));
  await mkdir(join(home, '.config', 'visor'), { recursive: true });
  const file = join(home, '.config', 'visor', 'config.json');
  await writeFile(file, JSON.stringify(config));
  await chmod(file, 0o600);
  return home;
}

const authorizations = (server: Recorder): (string | undefined)[] => server.seen.map((s) => s.authorization);

test('the local admin token is not sent to another server named by VISOR_URL, for reads nor writes', async (t) => {
  await withStranger(async (stranger) => {
    const list = await runVisor(['list'], onDaemonHost({ VISOR_URL: stranger.url }));
    t.is(list.code, 0, list.stderr);
    const add = await runVisor(['add', '--name', 'x'], onDaemonHost({ VISOR_URL: stranger.url }));
    t.deepEqual(stranger.seen.map((s) => `${s.method} ${s.path.split('?')[0]}`), ['GET /images', 'POST /images']);
    t.deepEqual(authorizations(stranger), [undefined, undefined]);

    // The refusal says that no key went, how to give one, and where the admin token does go.
    t.is(add.code, 5);
    t.true(add.stderr.includes(`no token found for ${stranger.url}, so the request went without one`), add.stderr);
    t.regex(add.stderr, /set VISOR_TOKEN/);
    t.true(add.stderr.includes(`the admin token in ${join(daemon.dataDir, 'admin-token')} goes only to its own daemon, at ${daemon.url}`), add.stderr);
  });
});

test('--url naming another server does not carry the admin token either', async (t) => {
  await withStranger(async (stranger) => {
    const run = await runVisor(['--url', stranger.url, 'whoami'], onDaemonHost());
    t.is(run.code, 0, run.stderr);
    t.deepEqual(authorizations(stranger), [undefined]);
  });
});

test("the rightful daemon still gets the admin token: at its own address, named or by default", async (t) => {
  const named = await runVisor(['--json', 'whoami'], onDaemonHost({ VISOR_URL: daemon.url }));
  t.is(named.code, 0, named.stderr);
  t.like(JSON.parse(named.stdout), { name: 'admin' });
  // No URL at all: the CLI goes to the address the local daemon's configuration names.
  const byDefault = await runVisor(['--json', 'whoami'], onDaemonHost());
  t.is(byDefault.code, 0, byDefault.stderr);
  t.like(JSON.parse(byDefault.stdout), { name: 'admin' });
});

test('a key in the config file goes only to the URL it is bound to, in either shape', async (t) => {
  const shapes = {
    'url and token': { url: daemon.url, token: daemon.token },
    tokens: { tokens: { [daemon.url]: daemon.token } },
  };
  for (const [shape, config] of Object.entries(shapes)) {
    const home = await homeWithConfig(config);
    await withStranger(async (stranger) => {
      const run = await runVisor(['list'], { env: { HOME: home, VISOR_URL: stranger.url } });
      t.is(run.code, 0, run.stderr);
      t.deepEqual(authorizations(stranger), [undefined], shape);
    });
    const own = await runVisor(['--json', 'whoami'], { env: { HOME: home, VISOR_URL: daemon.url } });
    t.is(own.code, 0, own.stderr);
    t.like(JSON.parse(own.stdout), { name: 'admin' }, shape);
  }
});

test('an unbound "token" in the config file is refused, and nothing is sent anywhere', async (t) => {
  const home = await homeWithConfig({ token: daemon.token });
  await withStranger(async (stranger) => {
    const run = await runVisor(['list'], { env: { HOME: home, VISOR_URL: stranger.url } });
    t.not(run.code, 0);
    t.regex(run.stderr, /"token" is not bound to a daemon: add the "url" it is for, or write it as \{"tokens"/);
    t.deepEqual(stranger.seen, []);
  });
});

test('a "tokens" key that is not an origin is refused, naming the key and what was expected', async (t) => {
  const home = await homeWithConfig({ tokens: { [`${daemon.url}/images`]: daemon.token } });
  const run = await runVisor(['whoami'], { env: { HOME: home, VISOR_URL: daemon.url } });
  t.not(run.code, 0);
  t.true(run.stderr.includes(`"tokens" key "${daemon.url}/images" must be a daemon's origin`), run.stderr);
});

test('a token the user gives with VISOR_TOKEN or --token goes to the URL they gave', async (t) => {
  await withStranger(async (stranger) => {
    t.is((await runVisor(['list'], onDaemonHost({ VISOR_URL: stranger.url, VISOR_TOKEN: 'visor_chosen' }))).code, 0);
    t.is((await runVisor(['--url', stranger.url, '--token', 'visor_flag', 'list'], onDaemonHost())).code, 0);
    t.deepEqual(authorizations(stranger), ['Bearer visor_chosen', 'Bearer visor_flag']);
  });
});

/** A data directory whose daemon's visor.toml says where it listens and whose admin-token file holds `token`. */
async function dataDirFor(server: { host: string; port: number }, token: string): Promise<string> {
  const dir = await mkdtemp(join(scratch, 'data-'));
  await writeFile(join(dir, 'visor.toml'), `[server]\nhost = "${server.host}"\nport = ${server.port}\n`);
  await writeFile(join(dir, 'admin-token'), `${token}\n`, { mode: 0o600 });
  return dir;
}

test('the admin token goes to the host its daemon is configured with, not to another name for the same port', async (t) => {
  // Configured as `localhost` (which may resolve to ::1, where anyone could listen): 127.0.0.1 is another origin.
  await withStranger(async (stranger) => {
    const dataDir = await dataDirFor({ host: 'localhost', port: portOf(stranger.url) }, 'visor_0123456789abcdef_named');
    t.is((await runVisor(['list'], { env: { VISOR_DATA_DIR: dataDir, VISOR_URL: stranger.url } })).code, 0);
    t.deepEqual(authorizations(stranger), [undefined]);
  });
  // Listening on every IPv4 address: reached, and trusted, on 127.0.0.1.
  await withStranger(async (stranger) => {
    const dataDir = await dataDirFor({ host: '0.0.0.0', port: portOf(stranger.url) }, 'visor_0123456789abcdef_any');
    t.is((await runVisor(['list'], { env: { VISOR_DATA_DIR: dataDir } })).code, 0);
    t.deepEqual(authorizations(stranger), ['Bearer visor_0123456789abcdef_any']);
  });
});

/** Stands at the key's own origin and sends every request on to `target`. */
const redirectTo = (target: Recorder, status: number): Answer => (req, res) => {
  res.writeHead(status, { location: `${target.url}${req.url ?? '/'}` }).end();
};

test("a redirect from the daemon's origin to another server does not carry the key (CLI)", async (t) => {
  await withStranger(async (stranger) => {
    await withStranger(async (own) => {
      const dataDir = await dataDirFor({ host: '127.0.0.1', port: portOf(own.url) }, 'visor_0123456789abcdef_local');
      const run = await runVisor(['list'], { env: { VISOR_DATA_DIR: dataDir } });
      t.is(run.code, 0, run.stderr);
      t.deepEqual(authorizations(own), ['Bearer visor_0123456789abcdef_local'], 'the key went to its own daemon');
      t.deepEqual(authorizations(stranger), [undefined], 'and not on to where it redirected');
    }, redirectTo(stranger, 302));
  });
});

test('VisorClient: the key goes to its URL and never on through a redirect (301, 302, 307, 308; a download too) or a next link', async (t) => {
  for (const status of [301, 302, 307, 308]) {
    await withStranger(async (stranger) => {
      await withStranger(async (own) => {
        await new VisorClient({ url: own.url, token: 'visor_client', retries: 0 }).list();
        t.deepEqual(authorizations(own), ['Bearer visor_client'], String(status));
        t.deepEqual(authorizations(stranger), [undefined], String(status));
      }, redirectTo(stranger, status));
    });
  }

  // An image file whose download is redirected elsewhere (as to a store's own URL): the bytes come, the key stays.
  await withStranger(async (stranger) => {
    await withStranger(async (own) => {
      const client = new VisorClient({ url: own.url, token: 'visor_client', retries: 0 });
      const { bytes } = await client.download('an-image', new PassThrough().resume(), { verify: false });
      t.is(bytes, 5);
      t.deepEqual(own.seen.map((s) => [s.path, s.authorization]), [['/images/an-image', 'Bearer visor_client'], ['/images/an-image/file', 'Bearer visor_client']]);
      t.deepEqual(authorizations(stranger), [undefined]);
    }, (req, res) => (req.url?.endsWith('/file') ? redirectTo(stranger, 302)(req, res) : json(res, 200, { id: 'an-image', name: 'x' })));
  }, (_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('bytes'));

  // A listing whose next page is on another server: followed, but anonymously.
  await withStranger(async (stranger) => {
    await withStranger(async (own) => {
      const pages = new VisorClient({ url: own.url, token: 'visor_client', retries: 0 }).listAll();
      await pages.next();
      t.deepEqual(authorizations(own), ['Bearer visor_client']);
      t.deepEqual(authorizations(stranger), [undefined]);
    }, (_req, res) => json(res, 200, { images: [], next: `${stranger.url}/images?marker=x` }));
  });
});

test('VisorClient: the key still reaches the daemon itself, and a client without one sends none', async (t) => {
  t.like(await new VisorClient({ url: daemon.url, token: daemon.token }).whoami(), { name: 'admin' });
  await withStranger(async (stranger) => {
    await new VisorClient({ url: stranger.url, retries: 0 }).whoami();
    t.deepEqual(authorizations(stranger), [undefined]);
  });
  t.throws(() => new VisorClient({ url: 'ftp://127.0.0.1:21' }), { message: /is not an http:\/\/ or https:\/\/ URL/ });
});

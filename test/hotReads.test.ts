import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { withHotReads } from '../daemon/hotReads.ts';
import { call } from './helpers/http.ts';
import { createImage } from './helpers/images.ts';
import { addUser, auditEntriesOf } from './helpers/accounts.ts';

// The hot read routes are answered on node:http, everything else through Koa. Both must give the
// same answers: the same catalogue is read once with the hot path and once through Koa alone.

interface Seen {
  status: number;
  type: string | null;
  length: string | null;
  etag: string | null;
  body: string;
  requestId: string | null;
}

let hot: TestDaemon;
let keys: { owner: string; stranger: string };
let ids: { pub: string; priv: string };

test.before(async () => {
  hot = await startTestDaemon({ hotReads: true });
  keys = { owner: await addUser(hot, 'olga'), stranger: await addUser(hot, 'sam') };
  ids = {
    pub: await createImage(hot, keys.owner, { name: 'pub', disk: 'qcow2', access: 'public', tags: ['a'], properties: { os: 'debian' } }),
    priv: await createImage(hot, keys.owner, { name: 'priv', disk: 'qcow2', access: 'private' }),
  };
  for (let i = 0; i < 3; i++) await createImage(hot, keys.owner, { name: `more-${i}`, disk: 'raw', access: 'public' });
});

const quoteless = (etag: string | null) => etag ?? '';

/** The requests a client of the read routes makes, successful or not. */
function requests(etagOfPub: string): Array<[string, string, string | undefined, Record<string, string>?]> {
  const { pub, priv } = ids;
  return [
    ['GET', '/images', undefined],
    ['GET', '/images?limit=2', undefined],
    ['GET', '/images?disk=qcow2&sort=name&dir=asc', undefined],
    ['GET', '/images?tag=a&property.os=debian', undefined],
    ['GET', '/images/detail', undefined],
    ['GET', '/images/detail?limit=1&sort=name', keys.owner],
    ['HEAD', '/images', undefined],
    ['GET', `/images/${pub}`, undefined],
    ['HEAD', `/images/${pub}`, undefined],
    ['GET', `/images/${pub}`, undefined, { 'if-none-match': etagOfPub }],
    ['GET', `/images/${priv}`, keys.owner],
    ['GET', `/images/${priv}`, undefined],
    ['GET', `/images/${priv}`, keys.stranger],
    ['GET', '/images', keys.owner],
    ['GET', '/images', 'visor_nosuchkey_secret'],
    ['GET', '/images', 'not a key'],
    ['GET', '/images?sort=nonsense', undefined],
    ['GET', '/images?limit=0', undefined],
    ['GET', `/images/${pub.toUpperCase()}`, undefined],
    ['GET', '/images/00000000-0000-4000-8000-000000000000', undefined],
    ['GET', '/images/', undefined],
  ];
}

async function readAll(d: TestDaemon, etagOfPub: string): Promise<Seen[]> {
  const out: Seen[] = [];
  for (const [method, path, key, headers] of requests(etagOfPub)) {
    const a = await call(d, key, method, path, undefined, headers ?? {});
    out.push({ status: a.status, type: a.headers.get('content-type'), length: a.headers.get('content-length'), etag: a.headers.get('etag'), body: a.text, requestId: a.headers.get('x-request-id') });
  }
  return out;
}

// Serial, so it runs before the test below closes the daemon: the hot path over the same core, with
// a stand-in for the Koa app that answers 599, shows which requests the hot path answered itself.
test.serial('successful reads are answered on node:http itself; whatever is refused falls through to the Koa app', async (t) => {
  const core = hot.daemon.core;
  const fellThrough: string[] = [];
  const listener = withHotReads({ service: core.images, pages: core.pages, auth: core.accessControl.authenticator, audit: core.accessControl.audit }, (req, res) => {
    fellThrough.push(`${req.method} ${req.url}`);
    res.statusCode = 599;
    res.end();
  });
  const server = createServer(listener).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const at = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const etagOfPub = quoteless((await call(at, undefined, 'GET', `/images/${ids.pub}`)).headers.get('etag'));
    const statuses: number[] = [];
    for (const [method, path, key, headers] of requests(etagOfPub)) statuses.push((await call(at, key, method, path, undefined, headers ?? {})).status);
    t.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 200, 200, 200, 304, 200, 599, 599, 200, 599, 599, 599, 599, 599, 599, 599]);
    t.is(fellThrough.length, statuses.filter((s) => s === 599).length);
  } finally {
    server.close();
    await once(server, 'close');
  }
});

test('the hot read path answers exactly as the Koa routes do, refusals and audit entries included', async (t) => {
  const etagOfPub = quoteless((await call(hot, undefined, 'GET', `/images/${ids.pub}`)).headers.get('etag'));
  t.regex(etagOfPub, /^".+"$/);
  const fromHot = await readAll(hot, etagOfPub);
  // The same catalogue and port (so the same uris), served through Koa alone.
  await hot.daemon.close();
  const koa = await startTestDaemon({ dataDir: hot.dataDir, hotReads: false, config: { server: { port: Number(new URL(hot.url).port) } } });
  try {
    const fromKoa = await readAll(koa, etagOfPub);
    const reqs = requests(etagOfPub);
    const strip = ({ requestId: _, ...rest }: Seen) => rest;
    for (const [i, seen] of fromHot.entries()) t.deepEqual(strip(seen), strip(fromKoa[i]!), `${reqs[i]![0]} ${reqs[i]![1]}`);
    // Equal is not enough: these are the answers a client relies on.
    t.deepEqual(
      fromHot.map((s) => s.status),
      [200, 200, 200, 200, 200, 200, 200, 200, 200, 304, 200, 404, 404, 200, 401, 401, 400, 400, 400, 404, 200],
    );
    t.true(fromHot.every((s) => s.requestId !== null), 'every answer names its audit entry');
    // Both runs wrote to the same audit log: entries of the hot path read like the Koa path's.
    const entries = await auditEntriesOf(koa, [...fromHot, ...fromKoa].map((s) => s.requestId!));
    const comparable = (s: Seen) => {
      const { at: _a, request: _r, ms: _m, ...rest } = entries.get(s.requestId!)!;
      return rest;
    };
    for (const [i, seen] of fromHot.entries()) t.deepEqual(comparable(seen), comparable(fromKoa[i]!), `audit of ${reqs[i]![0]} ${reqs[i]![1]}`);
    t.like(comparable(fromHot[7]!), { action: 'image.show', image: ids.pub, status: 200, outcome: 'ok', user: null, bytes: Number(fromHot[7]!.length) });
    t.like(comparable(fromHot[10]!), { action: 'image.show', image: ids.priv, user: 'olga' });
  } finally {
    await koa.stop();
    await rm(hot.dataDir, { recursive: true, force: true });
  }
});

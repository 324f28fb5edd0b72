/**
 * Issue 12's invariant, route by route: no request lets a caller read, replace or remove the bytes
 * of an image they may not read or change; an object is deleted only when no image names it; and
 * nothing tells whether an image the caller may not see exists. For every route of src/api/routes.ts
 * that names an image, a series or a store object, each caller (owner, checkout and commit
 * grantees, a stranger, anonymous) asks about a public victim, a private victim and an id (or
 * series) that never existed. Whoever may not see the private victim gets, for it and for the
 * ghost, the same answer: status, headers and body alike, ids aside. Every probe is built so that
 * even an allowed caller changes nothing, and after each route the victims are checked whole: their
 * records, their grants and their bytes, through the API and on disk.
 *
 * One daemon serves every probe; a route's probes run concurrently. The account, report, sync and
 * store-gc routes name no image and are covered, per caller, by test/access.matrix.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call, type Answer } from './helpers/http.ts';
import { createImage, sha256, storedFile, unique, uploadFile } from './helpers/images.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { gitAsync, tempDir } from './helpers/gitRepos.ts';

type Who = 'owner' | 'checkout' | 'commit' | 'stranger' | 'anonymous';
/** The column order of every row below. */
const WHO: readonly Who[] = ['owner', 'checkout', 'commit', 'stranger', 'anonymous'];
/** Those who may not see the private victim: for them it must be indistinguishable from the ghost. */
const BLIND: readonly Who[] = ['stranger', 'anonymous'];
type Row = readonly [number, number, number, number, number];

interface Target {
  id: string;
  name: string;
  series: string;
  /** The record's ETag and the file's (from the admin's view); made up for the ghost. */
  etag: string;
  fileEtag: string;
}
type Kind = 'public' | 'private' | 'ghost';

let d: TestDaemon;
const key = {} as Record<Who, string | undefined>;
const account = {} as Record<Who, string>;
const target = {} as Record<Kind, Target>;
const bytes = {} as Record<'public' | 'private', { data: Buffer; file: string; record: string }>;

test.before(async () => {
  d = await startTestDaemon({ config: { stores: { fs: { type: 'fs' }, fs2: { type: 'fs' } } } });
  await Promise.all(
    (['owner', 'checkout', 'commit', 'stranger'] as const).map(async (who) => {
      account[who] = unique(who);
      key[who] = await addUser(d, account[who]);
    }),
  );
  key.anonymous = undefined;
  account.anonymous = 'anonymous';
  for (const access of ['public', 'private'] as const) {
    // A kernel another image of the owner's uses: even its owner's DELETE is refused (409), so the
    // delete probe changes nothing whoever sends it.
    const name = unique(access);
    const series = unique('series');
    const id = await createImage(d, key.owner!, { name, series, access, type: 'kernel', description: 'original' });
    const data = randomBytes(4096);
    const record = await uploadFile(d, key.owner!, id, data);
    await createImage(d, key.owner!, { name: unique('vm'), kernel: id, access: 'private' });
    await grant(d, key.owner!, id, 'users', account.checkout, 'checkout');
    await grant(d, key.owner!, id, 'users', account.commit, 'commit');
    const view = await call(d, d.token, 'GET', `/images/${id}`);
    target[access] = { id, name, series, etag: view.headers.get('etag')!, fileEtag: `"${(record as { checksum: string }).checksum}"` };
    bytes[access] = { data, file: await storedFile(d.dataDir, record as { locations: Array<{ key: string }> }), record: await adminRecordText(id) };
  }
  // Same lengths as the victims' so that even Content-Length cannot differ.
  target.ghost = { id: randomUUID(), name: unique('private'), series: unique('series'), etag: target.private.etag.replace(/[A-Za-z]/g, 'x'), fileEtag: `"sha256:${'0'.repeat(64)}"` };
});

test.after.always(async () => {
  await d?.stop();
});

/** What the admin sees of the image now, without the fields a read updates (access counters). */
async function adminRecordText(id: string): Promise<string> {
  const r = (await call(d, d.token, 'GET', `/images/${id}`)).json as Record<string, unknown>;
  delete r['access_count'];
  delete r['accessed_at'];
  const grants = (await call(d, d.token, 'GET', `/images/${id}/grants`)).json;
  return JSON.stringify({ r, grants });
}

/** The victims are whole: the same record and grants, the same bytes through the API and on disk. */
async function assertVictimsWhole(t: ExecutionContext): Promise<void> {
  for (const access of ['public', 'private'] as const) {
    const { id } = target[access];
    t.is(await adminRecordText(id), bytes[access].record, `${access} victim's record and grants unchanged`);
    const download = await call(d, d.token, 'GET', `/images/${id}/file`);
    t.is(sha256(download.bytes), sha256(bytes[access].data), `${access} victim's bytes, through the API`);
    t.true((await readFile(bytes[access].file)).equals(bytes[access].data), `${access} victim's bytes, on disk`);
  }
}

/** An answer with the ids, names and series of the probed target written as placeholders. */
function shapeOf(a: Answer, of: Target): { status: number; headers: Record<string, string>; body: string } {
  const replace = (s: string) =>
    s
      .replaceAll(`/${of.id.slice(0, 2)}/${of.id}`, '/<shard>/<id>')
      .replaceAll(of.id, '<id>')
      .replaceAll(encodeURIComponent(of.id), '<id>')
      .replaceAll(of.series, '<series>')
      .replaceAll(of.name, '<name>')
      .replaceAll(of.etag, '<etag>')
      .replaceAll(of.fileEtag, '<file-etag>');
  const headers: Record<string, string> = {};
  for (const [name, value] of a.headers) if (name !== 'date' && name !== 'x-request-id') headers[name] = replace(value);
  return { status: a.status, headers, body: replace(a.text) };
}

interface Probe {
  /** Statuses for [owner, checkout, commit, stranger, anonymous] on the public and the private victim. */
  expect: { public: Row; private: Row };
  send(who: Who, t: Target): Promise<Answer>;
  /** The caller's answer must not hold the victim's bytes (a refusal must not leak them either). */
  bytesOnlyWhen?: (status: number) => boolean;
}

const get = (path: (t: Target) => string, headers: (t: Target) => Record<string, string> = () => ({})) => (who: Who, t: Target) => call(d, key[who], 'GET', path(t), undefined, headers(t));
const head = (path: (t: Target) => string) => (who: Who, t: Target) => call(d, key[who], 'HEAD', path(t));
const send = (method: string, path: (t: Target) => string, body?: (t: Target, who: Who) => unknown) => (who: Who, t: Target) => call(d, key[who], method, path(t), body?.(t, who));

/** An image of the caller's own, locked, to register objects under (one per probe, so file work never queues). */
async function scratchOf(who: Who): Promise<string> {
  return createImage(d, key[who] ?? d.token, { name: unique('scratch') });
}

//                                      owner chk  com  strg anon
const PROBES: Record<string, Probe> = {
  'GET /images/:id': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: get((t) => `/images/${t.id}`) },
  'HEAD /images/:id': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: head((t) => `/images/${t.id}`) },
  'GET /images/:id with the current ETag (If-None-Match)': {
    expect: { public: [304, 304, 304, 304, 304], private: [304, 304, 304, 404, 404] },
    send: get((t) => `/images/${t.id}`, (t) => ({ 'if-none-match': t.etag })),
  },
  'GET /images/:id/file': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: get((t) => `/images/${t.id}/file`), bytesOnlyWhen: (s) => s === 200 },
  'HEAD /images/:id/file': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: head((t) => `/images/${t.id}/file`) },
  'GET /images/:id/file with a Range': {
    expect: { public: [206, 206, 206, 206, 206], private: [206, 206, 206, 404, 404] },
    send: get((t) => `/images/${t.id}/file`, () => ({ range: 'bytes=0-99' })),
    bytesOnlyWhen: (s) => s === 206,
  },
  'GET /images/:id/file with a Range past the end': {
    expect: { public: [416, 416, 416, 416, 416], private: [416, 416, 416, 404, 404] },
    send: get((t) => `/images/${t.id}/file`, () => ({ range: 'bytes=999999-' })),
  },
  "GET /images/:id/file with the file's ETag (If-None-Match)": {
    expect: { public: [304, 304, 304, 304, 304], private: [304, 304, 304, 404, 404] },
    send: get((t) => `/images/${t.id}/file`, (t) => ({ 'if-none-match': t.fileEtag })),
  },
  'GET /images/:id/history': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: get((t) => `/images/${t.id}/history`) },
  'GET /images/:id/endorsements': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: get((t) => `/images/${t.id}/endorsements`) },
  'GET /images/:id/grants': { expect: { public: [200, 403, 403, 403, 401], private: [200, 403, 403, 404, 401] }, send: get((t) => `/images/${t.id}/grants`) },
  'GET /series/:name/latest': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 404, 404] }, send: get((t) => `/series/${t.series}/latest`) },
  'GET /series/:name/latest/file': { expect: { public: [302, 302, 302, 302, 302], private: [302, 302, 302, 404, 404] }, send: get((t) => `/series/${t.series}/latest/file`) },
  // Private records never enter the shared catalogue: the static view has no private victim, for anyone.
  'GET /catalog/files/images/:shard/:id.json': {
    expect: { public: [200, 200, 200, 200, 200], private: [404, 404, 404, 404, 404] },
    send: get((t) => `/catalog/files/images/${t.id.slice(0, 2)}/${t.id}.json`),
  },
  'GET /images?series= (a list filtered to the series)': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 200, 200] }, send: get((t) => `/images?series=${t.series}`) },
  'GET /images/detail?name= (a list filtered to the name)': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 200, 200] }, send: get((t) => `/images/detail?name=${t.name}`) },
  'GET /images?marker= (a page after the image)': { expect: { public: [200, 200, 200, 200, 200], private: [200, 200, 200, 400, 400] }, send: get((t) => `/images?marker=${t.id}`) },
  'POST /images naming the image as kernel': {
    // Seen: a reference to a kernel image is fine (the new image is the caller's own); hidden: "no image", as for the ghost.
    expect: { public: [201, 201, 201, 201, 401], private: [201, 201, 201, 400, 401] },
    send: send('POST', () => '/images', (t) => ({ name: unique('user'), kernel: t.id })),
  },
  // ─── Writes: each one a no-op even where it is allowed ─────────────────────────────────────────
  'PUT /images/:id (the same description)': {
    expect: { public: [200, 403, 200, 403, 401], private: [200, 403, 200, 404, 401] },
    send: send('PUT', (t) => `/images/${t.id}`, () => ({ description: 'original' })),
  },
  'PUT /images/:id with a stale If-Match': {
    expect: { public: [412, 403, 412, 403, 401], private: [412, 403, 412, 404, 401] },
    send: (who, t) => call(d, key[who], 'PUT', `/images/${t.id}`, { description: 'changed' }, { 'if-match': '"stale"' }),
  },
  'PUT /images/:id (a rename in its series)': {
    // Onto a name the schema refuses, so that the owner's try changes nothing either.
    expect: { public: [400, 403, 403, 403, 401], private: [400, 403, 403, 404, 401] },
    send: send('PUT', (t) => `/images/${t.id}`, () => ({ name: '' })),
  },
  'DELETE /images/:id': { expect: { public: [409, 403, 403, 403, 401], private: [409, 403, 403, 404, 401] }, send: send('DELETE', (t) => `/images/${t.id}`) },
  'PUT /images/:id/file (a new file for an available image)': {
    expect: { public: [409, 403, 409, 403, 401], private: [409, 403, 409, 404, 401] },
    send: (who, t) => call(d, key[who], 'PUT', `/images/${t.id}/file`, randomBytes(4096)),
  },
  'POST /images/:id/copy (to the store it is in)': {
    expect: { public: [200, 403, 403, 403, 401], private: [200, 403, 403, 404, 401] },
    send: send('POST', (t) => `/images/${t.id}/copy`, () => ({ to: 'fs' })),
  },
  'POST /images/:id/copy (to a store that does not exist)': {
    expect: { public: [400, 400, 400, 400, 401], private: [400, 400, 400, 400, 401] },
    send: send('POST', (t) => `/images/${t.id}/copy`, () => ({ to: 'nowhere' })),
  },
  'POST /images/:id/locations (its own object again)': {
    expect: { public: [200, 403, 403, 403, 401], private: [200, 403, 403, 404, 401] },
    send: send('POST', (t) => `/images/${t.id}/locations`, (t) => ({ store: 'fs', key: t.id })),
  },
  "POST /images/:id/locations (the victim's object under the caller's own image)": {
    // Not an object VISOR wrote for the caller's image: only admins may register one (taken or not, the same 403).
    expect: { public: [403, 403, 403, 403, 401], private: [403, 403, 403, 403, 401] },
    send: async (who, t) => call(d, key[who], 'POST', `/images/${await scratchOf(who)}/locations`, { store: 'fs', key: t.id }),
  },
  'PUT /images/:id/grants/users/:name (a grant it already has)': {
    expect: { public: [200, 403, 403, 403, 401], private: [200, 403, 403, 404, 401] },
    send: send('PUT', (t) => `/images/${t.id}/grants/users/${account.checkout}`, () => ({ permission: 'checkout' })),
  },
  'DELETE /images/:id/grants/users/:name (a grant that does not exist)': {
    expect: { public: [404, 403, 403, 403, 401], private: [404, 403, 403, 404, 401] },
    send: send('DELETE', (t) => `/images/${t.id}/grants/users/${account.stranger}`),
  },
  'PUT /images/:id/grants/groups/:name (a group that does not exist)': {
    expect: { public: [400, 403, 403, 403, 401], private: [400, 403, 403, 404, 401] },
    send: send('PUT', (t) => `/images/${t.id}/grants/groups/${unique('nogroup')}`, () => ({ permission: 'commit' })),
  },
  'DELETE /images/:id/grants/groups/:name': {
    expect: { public: [404, 403, 403, 403, 401], private: [404, 403, 403, 404, 401] },
    send: send('DELETE', (t) => `/images/${t.id}/grants/groups/${unique('nogroup')}`),
  },
  // Whose file may be scanned is decided before anything else (this daemon scans nothing: 409 once allowed).
  'POST /images/:id/scan': {
    expect: { public: [409, 403, 403, 403, 401], private: [409, 403, 403, 404, 401] },
    send: send('POST', (t) => `/images/${t.id}/scan`),
  },
  // Releasing from quarantine is the admins': everyone else is refused alike, whether the image exists or not.
  'POST /images/:id/release': {
    expect: { public: [403, 403, 403, 403, 401], private: [403, 403, 403, 403, 401] },
    send: send('POST', (t) => `/images/${t.id}/release`),
  },
  // The site policy is the admins': everyone else is refused alike, whether the image exists or not.
  'PUT /policy/hidden/:id': {
    expect: { public: [403, 403, 403, 403, 401], private: [403, 403, 403, 403, 401] },
    send: send('PUT', (t) => `/policy/hidden/${t.id}`, () => ({ reason: 'probe' })),
  },
  'DELETE /policy/hidden/:id': {
    expect: { public: [403, 403, 403, 403, 401], private: [403, 403, 403, 403, 401] },
    send: send('DELETE', (t) => `/policy/hidden/${t.id}`),
  },
};

// One route at a time (its cells at once): file work on one image runs alone, and a copy or a link
// of the owner's would otherwise meet another route's upload attempt as a 409.
for (const [route, probe] of Object.entries(PROBES)) {
  test.serial(`invariant: ${route}`, async (t) => {
    const cells = await Promise.all(
      WHO.flatMap((who) =>
        (['public', 'private', 'ghost'] as const).map(async (kind) => ({ who, kind, answer: await probe.send(who, target[kind]) })),
      ),
    );
    const answer = (who: Who, kind: Kind) => cells.find((c) => c.who === who && c.kind === kind)!.answer;
    for (const kind of ['public', 'private'] as const) {
      t.deepEqual(
        WHO.map((who) => answer(who, kind).status),
        [...probe.expect[kind]],
        `${kind}: ${WHO.map((who) => `${who} ${answer(who, kind).text.slice(0, 120)}`).join(' | ')}`,
      );
    }
    for (const who of BLIND) {
      t.deepEqual(shapeOf(answer(who, 'private'), target.private), shapeOf(answer(who, 'ghost'), target.ghost), `${who}: the hidden image answers as the ghost`);
    }
    for (const c of cells) {
      if (c.kind === 'ghost') continue;
      const victim = bytes[c.kind].data;
      const holds = c.answer.bytes.length > 0 && c.answer.bytes.includes(victim.subarray(0, 64));
      if (holds) t.true(probe.bytesOnlyWhen?.(c.answer.status) ?? false, `${c.who} × ${c.kind}: answered ${c.answer.status} with the victim's bytes`);
      if (c.kind === 'private' && BLIND.includes(c.who)) t.false(holds, `${c.who} read the private victim's bytes`);
    }
    await assertVictimsWhole(t);
  });
}

test.serial('store gc, even of every unreferenced object at once, removes no object an image names; only admins may run it', async (t) => {
  const refused = await Promise.all((['owner', 'stranger', 'anonymous'] as const).map((who) => call(d, key[who], 'POST', '/stores/fs/gc', { unreferenced: true, older_than_seconds: 0 })));
  t.deepEqual(refused.map((a) => a.status), [403, 403, 401]);
  const gc = await call(d, d.token, 'POST', '/stores/fs/gc', { unreferenced: true, older_than_seconds: 0 });
  t.is(gc.status, 200, gc.text);
  await assertVictimsWhole(t);
});

test('the shared catalogue served over git holds no trace of a private image: no record, path or commit message names it', async (t) => {
  const dir = await tempDir('visor-clone-');
  try {
    // A mirror: every ref the endpoint advertises, and every object they reach.
    const clone = join(dir, 'catalog.git');
    const cloned = await gitAsync(dir, 'clone', '-q', '--mirror', `${d.url}/catalog.git`, clone);
    t.is(cloned.status, 0, cloned.stderr);
    const objects = await gitAsync(clone, 'cat-file', '--batch-all-objects', '--batch');
    const everything = objects.stdout + (await gitAsync(clone, 'for-each-ref')).stdout;
    t.true(everything.includes(target.public.id), 'the public victim is there (the probe sees what it should)');
    t.false(everything.includes(target.private.id), 'no trace of the private victim');
    t.false(everything.includes(target.private.name));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("an image made private leaves the shared catalogue's history exactly as a deleted one does, under its public name", async (t) => {
  const [unpublished, deleted] = [unique('public'), unique('public')];
  const ids = await Promise.all([unpublished, deleted].map((name) => createImage(d, key.owner!, { name, access: 'public' })));
  t.is((await call(d, key.owner, 'PUT', `/images/${ids[0]!}`, { access: 'private', name: unique('secret') })).status, 200);
  t.is((await call(d, key.owner, 'DELETE', `/images/${ids[1]!}`)).status, 200);
  const dir = await tempDir('visor-clone-');
  try {
    const clone = join(dir, 'catalog');
    t.is((await gitAsync(dir, 'clone', '-q', `${d.url}/catalog.git`, clone)).status, 0);
    const [gone, removed] = await Promise.all(
      [ids[0]!, ids[1]!].map(async (id, i) => {
        const log = await gitAsync(clone, 'log', '-1', '--format=%an <%ae>|%s|%b', '--name-status', '--', `images/${id.slice(0, 2)}/${id}.json`);
        return log.stdout.replaceAll(`images/${id.slice(0, 2)}/${id}`, 'images/<shard>/<id>').replaceAll(id, '<id>').replaceAll([unpublished, deleted][i]!, '<name>');
      }),
    );
    t.is(gone, removed);
    t.regex(removed!, /^\S+ <\S+>\|Delete image <id> "<name>"\|/);
    // The daemon, which holds both catalogues, still tells its owner a change of access, not a deletion.
    const history = (await call(d, key.owner, 'GET', `/images/${ids[0]!}/history`)).json as { history: Array<{ change: string; fields: Array<{ field: string; old?: unknown; new?: unknown }> }> };
    t.deepEqual(history.history.map((e) => e.change), ['updated', 'created']);
    t.deepEqual(history.history[0]!.fields.find((f) => f.field === 'access'), { field: 'access', old: 'public', new: 'private' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an image moved back and forth between the catalogues keeps one history: each change of access is one change', async (t) => {
  const id = await createImage(d, key.owner!, { name: unique('mover'), access: 'private' });
  for (const access of ['public', 'private', 'public'] as const) t.is((await call(d, key.owner, 'PUT', `/images/${id}`, { access })).status, 200);
  const history = (await call(d, key.owner, 'GET', `/images/${id}/history`)).json as { history: Array<{ change: string; fields: Array<{ field: string; new?: unknown }> }> };
  t.deepEqual(history.history.map((e) => e.change), ['updated', 'updated', 'updated', 'created']);
  t.deepEqual(history.history.slice(0, 3).map((e) => e.fields.find((f) => f.field === 'access')?.new), ['public', 'private', 'public']);
});

// Re-inspection records a new verdict (its time) when allowed, so it stands apart from the probes,
// whose allowed callers change nothing; it runs last of the serial tests, and takes the new records
// as the victims' baseline.
test.serial('invariant: POST /images/:id/inspect', async (t) => {
  const cells = await Promise.all(
    WHO.flatMap((who) => (['public', 'private', 'ghost'] as const).map(async (kind) => ({ who, kind, answer: await call(d, key[who], 'POST', `/images/${target[kind].id}/inspect`) }))),
  );
  const answer = (who: Who, kind: Kind) => cells.find((c) => c.who === who && c.kind === kind)!.answer;
  t.deepEqual(WHO.map((who) => answer(who, 'public').status), [200, 403, 403, 403, 401]);
  t.deepEqual(WHO.map((who) => answer(who, 'private').status), [200, 403, 403, 404, 401]);
  for (const who of BLIND) t.deepEqual(shapeOf(answer(who, 'private'), target.private), shapeOf(answer(who, 'ghost'), target.ghost), `${who}: the hidden image answers as the ghost`);
  for (const access of ['public', 'private'] as const) {
    const { id } = target[access];
    const record = await adminRecordText(id);
    t.regex(record, /"inspection"/, `${access} victim re-inspected by its owner`);
    bytes[access].record = record;
  }
  await assertVictimsWhole(t);
});

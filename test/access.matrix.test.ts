import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call, type Answer } from './helpers/http.ts';
import { createImage, unique } from './helpers/images.ts';
import { addGroup, addUser, auditEntriesOf, grant } from './helpers/accounts.ts';

/**
 * The permission matrix of the paper's access control: every caller × every route × public and
 * private images, each cell asserted (status, what changed or did not, and its audit entry). One
 * daemon serves every cell; the cells of a route run concurrently.
 */

type Who = 'anonymous' | 'owner' | 'checkout' | 'commit' | 'group-checkout' | 'group-commit' | 'other' | 'disabled' | 'admin';
/** The column order of every table below. */
const WHO: readonly Who[] = ['anonymous', 'owner', 'checkout', 'commit', 'group-checkout', 'group-commit', 'other', 'disabled', 'admin'];
type Visibility = 'public' | 'private';
const VISIBILITIES: readonly Visibility[] = ['public', 'private'];
/** 'absent': answered 200, but the image is not in the list. */
type Expected = number | 'absent';
type Row = readonly Expected[];

let d: TestDaemon;
const key = {} as Record<Who, string | undefined>;
/** Account names; null for anonymous callers (and refused credentials, as the audit log records them). */
const account = {} as Record<Who, string | null>;
let readers: string;
let writers: string;
const fixtures = {} as Record<Visibility, Fixture>;

interface Fixture {
  id: string;
  access: Visibility;
  series: string;
  content: Buffer;
}

test.before(async () => {
  // Two stores, so copies between them can be tried by everyone.
  d = await startTestDaemon({ config: { stores: { fs: { type: 'fs' }, fs2: { type: 'fs' } } } });
  const names: Partial<Record<Who, string>> = { owner: unique('owner'), checkout: unique('chk'), commit: unique('com'), 'group-checkout': unique('gchk'), 'group-commit': unique('gcom'), other: unique('other'), disabled: unique('dis') };
  await Promise.all(
    Object.entries(names).map(async ([who, name]) => {
      key[who as Who] = await addUser(d, name);
      account[who as Who] = name;
    }),
  );
  key.anonymous = undefined;
  account.anonymous = null;
  key.admin = d.token;
  account.admin = 'admin';
  readers = unique('readers');
  writers = unique('writers');
  await addGroup(d, readers, [names['group-checkout']!]);
  await addGroup(d, writers, [names['group-commit']!]);
  // The disabled user holds a commit grant on every image: disabling must override grants.
  const disabled = await call(d, d.token, 'PUT', `/users/${names.disabled!}`, { disabled: true });
  if (disabled.status !== 200) throw new Error(disabled.text);
  fixtures.public = await fixture('public', true);
  fixtures.private = await fixture('private', true);
});

test.after.always(async () => {
  await d?.stop();
});

/** An image of the owner, in a series of its own, with every kind of grant. */
async function fixture(access: Visibility, withFile: boolean): Promise<Fixture> {
  const series = unique('series');
  const id = await createImage(d, key.owner!, { name: unique('image'), access, series, description: 'original' });
  const content = randomBytes(1000);
  if (withFile) {
    const up = await call(d, key.owner, 'PUT', `/images/${id}/file`, content);
    if (up.status !== 200) throw new Error(up.text);
  }
  await grant(d, key.owner!, id, 'users', account.checkout!, 'checkout');
  await grant(d, key.owner!, id, 'users', account.commit!, 'commit');
  await grant(d, key.owner!, id, 'users', account.disabled!, 'commit');
  await grant(d, key.owner!, id, 'groups', readers, 'checkout');
  await grant(d, key.owner!, id, 'groups', writers, 'commit');
  return { id, access, series, content };
}

/** What the admin sees of an image now (status 404 when it is gone). */
async function adminView(id: string): Promise<Answer> {
  return call(d, d.token, 'GET', `/images/${id}`);
}

interface Cell {
  who: Who;
  visibility?: Visibility;
  answer: Answer;
  observed: Expected;
}

/**
 * Asserts each cell's status and that the audit log recorded it with who and how it ended: refusals as
 * denied, with a reason — except where a 404 is no refusal (`absentFor404`: the thing is not there).
 */
async function assertCells(t: ExecutionContext, cells: Cell[], expected: (c: Cell) => Expected, absentFor404 = false): Promise<void> {
  for (const c of cells) t.is(c.observed, expected(c), `${c.who}${c.visibility ? ` × ${c.visibility}` : ''}: ${c.answer.text.slice(0, 200)}`);
  const ids = cells.map((c) => c.answer.headers.get('x-request-id')!);
  const audit = await auditEntriesOf(d, ids);
  for (const [i, c] of cells.entries()) {
    const entry = audit.get(ids[i]!);
    const label = `audit of ${c.who}${c.visibility ? ` × ${c.visibility}` : ''}`;
    if (!entry) {
      t.fail(`${label}: no entry`);
      continue;
    }
    t.is(entry.user, c.who === 'disabled' ? null : account[c.who], label);
    const notThere = absentFor404 && c.answer.status === 404;
    t.is(entry.outcome, c.answer.status < 400 ? 'ok' : notThere ? 'rejected' : 'denied', label);
    if (c.answer.status >= 400 && !notThere) t.truthy(entry.reason, label);
  }
}

// ─── Reads: one shared image per visibility ──────────────────────────────────────────────────────

interface ReadRoute {
  expect: Record<Visibility, Row>;
  /** A 404 here means "not in this view", for everyone alike: audited as rejected, not denied. */
  absentFor404?: boolean;
  run(who: Who, f: Fixture): Promise<{ answer: Answer; observed: Expected }>;
}

const plain = (method: string, path: (f: Fixture) => string, check?: (a: Answer, f: Fixture) => boolean) => async (who: Who, f: Fixture) => {
  const answer = await call(d, key[who], method, path(f));
  // A 2xx/3xx with the wrong content would be a leak or a bug: report it as status 0.
  const observed = answer.status < 400 && check && !check(answer, f) ? 0 : answer.status;
  return { answer, observed };
};

const listed = (path: string) => async (who: Who, f: Fixture) => {
  const answer = await call(d, key[who], 'GET', `${path}?series=${f.series}`);
  if (answer.status !== 200) return { answer, observed: answer.status };
  const ids = (answer.json as { images: { id: string }[] }).images.map((i) => i.id);
  return { answer, observed: ids.includes(f.id) ? 200 : ('absent' as const) };
};

//                                 anonymous owner  chk  com  gchk gcom other  dis admin
const READS: Record<string, ReadRoute> = {
  'GET /images': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: ['absent', 200, 200, 200, 200, 200, 'absent', 401, 200] },
    run: listed('/images'),
  },
  'GET /images/detail': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: ['absent', 200, 200, 200, 200, 200, 'absent', 401, 200] },
    run: listed('/images/detail'),
  },
  'GET /images/:id': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 200, 200, 200, 200, 200, 404, 401, 200] },
    run: plain('GET', (f) => `/images/${f.id}`, (a, f) => (a.json as { id: string }).id === f.id),
  },
  'HEAD /images/:id': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 200, 200, 200, 200, 200, 404, 401, 200] },
    run: plain('HEAD', (f) => `/images/${f.id}`),
  },
  'GET /images/:id/file': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 200, 200, 200, 200, 200, 404, 401, 200] },
    run: plain('GET', (f) => `/images/${f.id}/file`, (a, f) => a.bytes.equals(f.content)),
  },
  'HEAD /images/:id/file': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 200, 200, 200, 200, 200, 404, 401, 200] },
    run: plain('HEAD', (f) => `/images/${f.id}/file`, (a, f) => a.headers.get('content-length') === String(f.content.length)),
  },
  'GET /images/:id/history': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 200, 200, 200, 200, 200, 404, 401, 200] },
    run: plain('GET', (f) => `/images/${f.id}/history`),
  },
  'GET /series/:name/latest': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 200, 200, 200, 200, 200, 404, 401, 200] },
    run: plain('GET', (f) => `/series/${f.series}/latest`, (a, f) => (a.json as { id: string }).id === f.id),
  },
  'GET /series/:name/latest/file': {
    expect: { public: [302, 302, 302, 302, 302, 302, 302, 401, 302], private: [404, 302, 302, 302, 302, 302, 404, 401, 302] },
    run: plain('GET', (f) => `/series/${f.series}/latest/file`, (a, f) => a.headers.get('location') === `/images/${f.id}/file`),
  },
  // The static view serves the shared catalogue, which private images never enter, so for them it is
  // a 404 to everyone; the owner and grantees read private records through /images.
  'GET /catalog/files/images/:shard/:id.json': {
    expect: { public: [200, 200, 200, 200, 200, 200, 200, 401, 200], private: [404, 404, 404, 404, 404, 404, 404, 401, 404] },
    run: plain('GET', (f) => `/catalog/files/images/${f.id.slice(0, 2)}/${f.id}.json`, (a, f) => (a.json as { id: string }).id === f.id),
    absentFor404: true,
  },
  'GET /images/:id/grants': {
    expect: { public: [401, 200, 403, 403, 403, 403, 403, 401, 200], private: [401, 200, 403, 403, 403, 403, 404, 401, 200] },
    run: plain('GET', (f) => `/images/${f.id}/grants`, (a) => (a.json as { users: Record<string, string> }).users[account.commit!] === 'commit'),
  },
};

for (const [route, spec] of Object.entries(READS)) {
  test(`matrix: ${route}`, async (t) => {
    const cells = await Promise.all(
      VISIBILITIES.flatMap((visibility) => WHO.map(async (who) => ({ who, visibility, ...(await spec.run(who, fixtures[visibility])) }))),
    );
    await assertCells(t, cells, (c) => spec.expect[c.visibility!][WHO.indexOf(c.who)]!, spec.absentFor404);
  });
}

// ─── Writes: a fresh image per cell, and a check that a refusal changed nothing ─────────────────

interface WriteRoute {
  expect: Record<Visibility, Row>;
  withFile: boolean;
  attempt(who: Who, f: Fixture): Promise<Answer>;
  /** Whether the change is there (after a success) or not (after a refusal). */
  applied(f: Fixture): Promise<boolean>;
}

const grantsOf = async (f: Fixture) => (await call(d, d.token, 'GET', `/images/${f.id}/grants`)).json as { users: Record<string, string> };

//                                 anonymous owner  chk  com  gchk gcom other  dis admin
const WRITES: Record<string, WriteRoute> = {
  'PUT /images/:id (metadata)': {
    expect: { public: [401, 200, 403, 200, 403, 200, 403, 401, 200], private: [401, 200, 403, 200, 403, 200, 404, 401, 200] },
    withFile: false,
    attempt: (who, f) => call(d, key[who], 'PUT', `/images/${f.id}`, { description: `changed by ${who}` }),
    applied: async (f) => ((await adminView(f.id)).json as { description: string }).description !== 'original',
  },
  'PUT /images/:id (access)': {
    expect: { public: [401, 200, 403, 403, 403, 403, 403, 401, 200], private: [401, 200, 403, 403, 403, 403, 404, 401, 200] },
    withFile: false,
    attempt: (who, f) => call(d, key[who], 'PUT', `/images/${f.id}`, { access: f.access === 'public' ? 'private' : 'public' }),
    applied: async (f) => ((await adminView(f.id)).json as { access: Visibility }).access !== f.access,
  },
  'DELETE /images/:id': {
    expect: { public: [401, 200, 403, 403, 403, 403, 403, 401, 200], private: [401, 200, 403, 403, 403, 403, 404, 401, 200] },
    withFile: true,
    attempt: (who, f) => call(d, key[who], 'DELETE', `/images/${f.id}`),
    applied: async (f) => (await adminView(f.id)).status === 404,
  },
  'PUT /images/:id/file': {
    expect: { public: [401, 200, 403, 200, 403, 200, 403, 401, 200], private: [401, 200, 403, 200, 403, 200, 404, 401, 200] },
    withFile: false,
    attempt: (who, f) => call(d, key[who], 'PUT', `/images/${f.id}/file`, f.content),
    applied: async (f) => ((await adminView(f.id)).json as { status: string }).status === 'available',
  },
  'PUT /images/:id/grants/users/:name': {
    expect: { public: [401, 200, 403, 403, 403, 403, 403, 401, 200], private: [401, 200, 403, 403, 403, 403, 404, 401, 200] },
    withFile: false,
    // A grant to the "other" user: exactly what a grantee might try to hand out.
    attempt: (who, f) => call(d, key[who], 'PUT', `/images/${f.id}/grants/users/${account.other!}`, { permission: 'commit' }),
    applied: async (f) => (await grantsOf(f)).users[account.other!] === 'commit',
  },
  'DELETE /images/:id/grants/users/:name': {
    expect: { public: [401, 200, 403, 403, 403, 403, 403, 401, 200], private: [401, 200, 403, 403, 403, 403, 404, 401, 200] },
    withFile: false,
    attempt: (who, f) => call(d, key[who], 'DELETE', `/images/${f.id}/grants/users/${account.checkout!}`),
    applied: async (f) => (await grantsOf(f)).users[account.checkout!] === undefined,
  },
  'POST /images/:id/copy': {
    expect: { public: [401, 200, 403, 403, 403, 403, 403, 401, 200], private: [401, 200, 403, 403, 403, 403, 404, 401, 200] },
    withFile: true,
    attempt: (who, f) => call(d, key[who], 'POST', `/images/${f.id}/copy`, { to: 'fs2' }),
    applied: async (f) => ((await adminView(f.id)).json as { locations: { store: string }[] }).locations.some((l) => l.store === 'fs2'),
  },
};

for (const [route, spec] of Object.entries(WRITES)) {
  test(`matrix: ${route}`, async (t) => {
    const cells = await Promise.all(
      VISIBILITIES.flatMap((visibility) =>
        WHO.map(async (who) => {
          const f = await fixture(visibility, spec.withFile);
          const answer = await spec.attempt(who, f);
          const applied = await spec.applied(f);
          t.is(applied, answer.status < 400, `${who} × ${visibility}: answered ${answer.status} but the change was ${applied ? '' : 'not '}made`);
          return { who, visibility, answer, observed: answer.status };
        }),
      ),
    );
    await assertCells(t, cells, (c) => spec.expect[c.visibility!][WHO.indexOf(c.who)]!);
  });
}

test('matrix: POST /images — any active account registers, and owns what it registers', async (t) => {
  const expected: Row = [401, 201, 201, 201, 201, 201, 201, 401, 201];
  const cells = await Promise.all(
    WHO.map(async (who) => {
      const name = unique('made');
      const answer = await call(d, key[who], 'POST', '/images', { name, access: 'public' });
      const found = (await call(d, d.token, 'GET', `/images?name=${name}`)).json as { images: { owner: string }[] };
      t.is(found.images.length, answer.status === 201 ? 1 : 0, `${who}: registered exactly when answered 201`);
      if (answer.status === 201) t.is((answer.json as { owner: string | null }).owner, account[who], `${who} owns the image`);
      return { who, answer, observed: answer.status };
    }),
  );
  await assertCells(t, cells, (c) => expected[WHO.indexOf(c.who)]!);
});

// ─── Account, report and health routes: no image involved ────────────────────────────────────────

interface AccountRoute {
  expect: Row;
  attempt(who: Who): Promise<{ answer: Answer; unchanged?: () => Promise<boolean> }>;
}

async function throwawayUser(): Promise<{ name: string; keyId: string }> {
  const name = unique('temp');
  const res = await call(d, d.token, 'POST', '/users', { name });
  return { name, keyId: (res.json as { user: { key_id: string } }).user.key_id };
}

async function throwawayGroup(members: string[] = []): Promise<string> {
  const name = unique('grp');
  await addGroup(d, name, members);
  return name;
}

const userNow = async (name: string) => (await call(d, d.token, 'GET', `/users/${name}`)).json as { disabled: boolean; key_id: string } | undefined;
const groupNow = async (name: string) => ((await call(d, d.token, 'GET', '/groups')).json as { groups: { name: string; members: string[] }[] }).groups.find((g) => g.name === name);

//                                 anonymous owner  chk  com  gchk gcom other  dis admin
const ACCOUNT_ROUTES: Record<string, AccountRoute> = {
  'GET /whoami': { expect: [200, 200, 200, 200, 200, 200, 200, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/whoami') }) },
  'GET /health': { expect: [200, 200, 200, 200, 200, 200, 200, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/health') }) },
  'GET /users': { expect: [401, 403, 403, 403, 403, 403, 403, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/users') }) },
  'GET /users/:name (the owner\'s account)': {
    expect: [401, 200, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => ({ answer: await call(d, key[who], 'GET', `/users/${account.owner!}`) }),
  },
  'POST /users': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 201],
    attempt: async (who) => {
      const name = unique('new');
      const answer = await call(d, key[who], 'POST', '/users', { name, role: 'admin' });
      return { answer, unchanged: async () => (await userNow(name)) === undefined || (await call(d, d.token, 'GET', `/users/${name}`)).status === 404 };
    },
  },
  'PUT /users/:name': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => {
      const u = await throwawayUser();
      const answer = await call(d, key[who], 'PUT', `/users/${u.name}`, { disabled: true });
      return { answer, unchanged: async () => (await userNow(u.name))?.disabled === false };
    },
  },
  'DELETE /users/:name': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => {
      const u = await throwawayUser();
      const answer = await call(d, key[who], 'DELETE', `/users/${u.name}`);
      return { answer, unchanged: async () => (await call(d, d.token, 'GET', `/users/${u.name}`)).status === 200 };
    },
  },
  'POST /users/:name/key (another account)': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => {
      const u = await throwawayUser();
      const answer = await call(d, key[who], 'POST', `/users/${u.name}/key`);
      return { answer, unchanged: async () => (await userNow(u.name))?.key_id === u.keyId };
    },
  },
  'GET /groups': { expect: [401, 403, 403, 403, 403, 403, 403, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/groups') }) },
  'POST /groups': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 201],
    attempt: async (who) => {
      const name = unique('g');
      const answer = await call(d, key[who], 'POST', '/groups', { name });
      return { answer, unchanged: async () => (await groupNow(name)) === undefined };
    },
  },
  'DELETE /groups/:name': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => {
      const g = await throwawayGroup();
      const answer = await call(d, key[who], 'DELETE', `/groups/${g}`);
      return { answer, unchanged: async () => (await groupNow(g)) !== undefined };
    },
  },
  'PUT /groups/:name/members/:user (joining a group)': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => {
      const g = await throwawayGroup();
      // Each caller tries to add itself (the admin adds the owner).
      const member = who === 'anonymous' || who === 'admin' ? account.owner! : account[who]!;
      const answer = await call(d, key[who], 'PUT', `/groups/${g}/members/${member}`);
      return { answer, unchanged: async () => (await groupNow(g))?.members.length === 0 };
    },
  },
  'DELETE /groups/:name/members/:user': {
    expect: [401, 403, 403, 403, 403, 403, 403, 401, 200],
    attempt: async (who) => {
      const g = await throwawayGroup([account.owner!]);
      const answer = await call(d, key[who], 'DELETE', `/groups/${g}/members/${account.owner!}`);
      return { answer, unchanged: async () => (await groupNow(g))?.members.length === 1 };
    },
  },
  'GET /catalog/HEAD': { expect: [200, 200, 200, 200, 200, 200, 200, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/catalog/HEAD') }) },
  'GET /catalog.git/info/refs (git smart HTTP)': {
    expect: [200, 200, 200, 200, 200, 200, 200, 401, 200],
    attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/catalog.git/info/refs?service=git-upload-pack') }),
  },
  'POST /sync': { expect: [401, 403, 403, 403, 403, 403, 403, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'POST', '/sync') }) },
  'GET /report': { expect: [401, 403, 403, 403, 403, 403, 403, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/report') }) },
  'GET /stores': { expect: [401, 200, 200, 200, 200, 200, 200, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'GET', '/stores') }) },
  'POST /stores/:name/gc': { expect: [401, 403, 403, 403, 403, 403, 403, 401, 200], attempt: async (who) => ({ answer: await call(d, key[who], 'POST', '/stores/fs/gc', { dry_run: true }) }) },
};

for (const [route, spec] of Object.entries(ACCOUNT_ROUTES)) {
  test(`matrix: ${route}`, async (t) => {
    const cells = await Promise.all(
      WHO.map(async (who) => {
        const { answer, unchanged } = await spec.attempt(who);
        if (unchanged) t.is(await unchanged(), answer.status >= 400, `${who}: answered ${answer.status}; a refusal must change nothing, a success must change something`);
        return { who, answer, observed: answer.status };
      }),
    );
    await assertCells(t, cells, (c) => spec.expect[WHO.indexOf(c.who)]!);
  });
}

// Serial: ava runs it before the concurrent tests, so no other cell adds images while it counts.
test.serial('matrix: health counts only the images the caller may see', async (t) => {
  await createImage(d, key.owner!, { name: unique('hidden'), access: 'private' });
  const count = async (who: Who) => ((await call(d, key[who], 'GET', '/health')).json as { catalog: { images: number } }).catalog.images;
  // The fixtures: one public and one private image, both granted; and the private one just made.
  t.deepEqual(
    Object.fromEntries(await Promise.all(['anonymous', 'other', 'checkout', 'group-commit', 'owner', 'admin'].map(async (who) => [who, await count(who as Who)]))),
    { anonymous: 1, other: 1, checkout: 2, 'group-commit': 2, owner: 3, admin: 3 },
  );
  const publicDetails = (await call(d, undefined, 'GET', '/health')).json as { catalog: Record<string, unknown> };
  t.deepEqual(Object.keys(publicDetails.catalog).sort(), ['head', 'images'], 'no private commit counts or paths for non-admins');
});

import { assertAdmin, assertSignedIn } from '../src/auth/callerRules.ts';
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrantStore } from '../src/access/GrantStore.ts';
import { InstanceIdentity } from '../src/federation/InstanceIdentity.ts';
import { SiteOverlay } from '../src/federation/SiteOverlay.ts';
import { ImageAccess, type AccessSubject } from '../src/access/ImageAccess.ts';
import { SiteTrust } from '../src/trust/SiteTrust.ts';
import type { AccessLevel } from '../src/access/Permission.ts';
import type { Principal } from '../src/auth/Principal.ts';
import { VisorError, type ErrorKind } from '../src/errors/VisorError.ts';

/**
 * The access decisions themselves, without a daemon: ImageAccess with a real GrantStore in a
 * temporary file. The HTTP matrix (access.matrix.test.ts) checks that every route asks here; this
 * file checks what the answers are, for every kind of caller on a public and a private image.
 * Errors are checked by kind; the HTTP edge answers unauthenticated 401, not_found 404, forbidden 403.
 */

type Caller = 'anonymous' | 'stranger' | 'owner' | 'admin' | 'user-checkout' | 'user-commit' | 'group-checkout' | 'group-commit';
const CALLERS: readonly Caller[] = ['anonymous', 'stranger', 'owner', 'admin', 'user-checkout', 'user-commit', 'group-checkout', 'group-commit'];

const who: Record<Caller, Principal | undefined> = {
  anonymous: undefined,
  stranger: { name: 'sam', admin: false, groups: ['bystanders'] },
  owner: { name: 'olga', admin: false },
  admin: { name: 'root', admin: true },
  'user-checkout': { name: 'ute', admin: false },
  'user-commit': { name: 'carl', admin: false },
  'group-checkout': { name: 'gina', admin: false, groups: ['bystanders', 'readers'] },
  'group-commit': { name: 'gus', admin: false, groups: ['writers'] },
};

const images: Record<'public' | 'private', AccessSubject> = {
  public: { id: '11111111-0000-4000-8000-000000000001', owner: 'olga', access: 'public' },
  private: { id: '22222222-0000-4000-8000-000000000002', owner: 'olga', access: 'private' },
};

let dir: string;
let grants: GrantStore;
let access: ImageAccess;
let overlay: SiteOverlay;

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'visor-image-access-'));
  grants = await GrantStore.open(join(dir, 'grants.json'));
  for (const image of Object.values(images)) {
    await grants.set(image.id, { kind: 'user', name: 'ute' }, 'checkout');
    await grants.set(image.id, { kind: 'user', name: 'carl' }, 'commit');
    await grants.set(image.id, { kind: 'group', name: 'readers' }, 'checkout');
    await grants.set(image.id, { kind: 'group', name: 'writers' }, 'commit');
  }
  overlay = await SiteOverlay.open(join(dir, 'site-policy.json'));
  access = new ImageAccess(grants, new InstanceIdentity('here.example'), overlay);
});
test.after.always(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What assert() does: 'ok', or the kind of the VisorError it throws. */
function outcome(caller: Principal | undefined, image: AccessSubject, needed: Exclude<AccessLevel, 'none'>): 'ok' | ErrorKind {
  try {
    access.assert(caller, image, needed);
    return 'ok';
  } catch (error) {
    if (!(error instanceof VisorError)) throw error;
    return error.kind;
  }
}

const LEVELS: Record<'public' | 'private', Record<Caller, AccessLevel>> = {
  public: { anonymous: 'checkout', stranger: 'checkout', owner: 'manage', admin: 'manage', 'user-checkout': 'checkout', 'user-commit': 'commit', 'group-checkout': 'checkout', 'group-commit': 'commit' },
  private: { anonymous: 'none', stranger: 'none', owner: 'manage', admin: 'manage', 'user-checkout': 'checkout', 'user-commit': 'commit', 'group-checkout': 'checkout', 'group-commit': 'commit' },
};

for (const visibility of ['public', 'private'] as const) {
  test(`level and canSee of every kind of caller on a ${visibility} image`, (t) => {
    const image = images[visibility];
    const levels = Object.fromEntries(CALLERS.map((c) => [c, access.level(who[c], image)]));
    t.deepEqual(levels, LEVELS[visibility]);
    const seeing = CALLERS.filter((c) => access.canSee(who[c], image));
    t.deepEqual(seeing, visibility === 'public' ? CALLERS : ['owner', 'admin', 'user-checkout', 'user-commit', 'group-checkout', 'group-commit']);
  });
}

// Rows: caller; columns: the level needed (checkout, commit, manage). The owner, admins and grantees
// are answered alike whatever the image's access; only anonymous callers and strangers differ.
type Outcomes = [string, string, string];
const ALIKE: Record<Exclude<Caller, 'anonymous' | 'stranger'>, Outcomes> = {
  owner: ['ok', 'ok', 'ok'],
  admin: ['ok', 'ok', 'ok'],
  'user-checkout': ['ok', 'forbidden', 'forbidden'],
  'user-commit': ['ok', 'ok', 'forbidden'],
  'group-checkout': ['ok', 'forbidden', 'forbidden'],
  'group-commit': ['ok', 'ok', 'forbidden'],
};
const OUTCOMES: Record<'public' | 'private', Record<Caller, Outcomes>> = {
  public: { anonymous: ['ok', 'unauthenticated', 'unauthenticated'], stranger: ['ok', 'forbidden', 'forbidden'], ...ALIKE },
  private: { anonymous: ['not_found', 'unauthenticated', 'unauthenticated'], stranger: ['not_found', 'not_found', 'not_found'], ...ALIKE },
};

for (const visibility of ['public', 'private'] as const) {
  test(`assert on a ${visibility} image: 401 for an anonymous change, 404 for a caller who may not see it, 403 for one who may see but not do`, (t) => {
    const image = images[visibility];
    const table = Object.fromEntries(CALLERS.map((c) => [c, (['checkout', 'commit', 'manage'] as const).map((needed) => outcome(who[c], image, needed))]));
    t.deepEqual(table, OUTCOMES[visibility]);
  });
}

test('a hidden image is refused exactly like a missing one; only the audit reason says why', (t) => {
  const refusal = t.throws(() => access.assert(who.stranger, images.private, 'checkout'), { instanceOf: VisorError });
  t.is(refusal?.kind, 'not_found');
  t.is(refusal?.message, `image ${images.private.id} not found`);
  t.regex(refusal?.denial ?? '', /^sam may not see private image/);
  const forbidden = t.throws(() => access.assert(who['user-checkout'], images.private, 'manage'), { instanceOf: VisorError });
  t.regex(forbidden?.message ?? '', /only its owner and admins may/);
  t.is(forbidden?.denial, forbidden?.message, 'a 403 is audited with its own message');
});

test('grants combine to the highest: a user grant and a group grant, several groups, a public image', async (t) => {
  const image: AccessSubject = { id: '33333333-0000-4000-8000-000000000003', owner: 'olga', access: 'private' };
  await grants.set(image.id, { kind: 'user', name: 'mia' }, 'checkout');
  await grants.set(image.id, { kind: 'group', name: 'writers' }, 'commit');
  await grants.set(image.id, { kind: 'group', name: 'readers' }, 'checkout');
  t.is(access.level({ name: 'mia', admin: false }, image), 'checkout');
  t.is(access.level({ name: 'mia', admin: false, groups: ['writers'] }, image), 'commit', 'the group grant is higher than her own');
  t.is(access.level({ name: 'max', admin: false, groups: ['readers', 'writers'] }, image), 'commit', 'the highest of her groups');
  t.is(access.level({ name: 'mia', admin: false }, { ...image, access: 'public' }), 'checkout', 'a checkout grant on a public image adds nothing');
});

test('a grant counts only on its own image, and only for the name and groups it names', (t) => {
  const other: AccessSubject = { id: '44444444-0000-4000-8000-000000000004', owner: 'olga', access: 'private' };
  t.is(access.level(who['user-commit'], other), 'none');
  t.is(access.level({ name: 'ute-2', admin: false, groups: ['ute'] }, images.private), 'none', 'a group named like a granted user is not that user');
  t.is(access.level({ name: 'readers', admin: false }, images.private), 'none', 'a user named like a granted group is not in it');
});

test('ownership is by name; an image without an access field is private', (t) => {
  const unmarked: AccessSubject = { id: '55555555-0000-4000-8000-000000000005', owner: 'olga' };
  t.is(access.level(who.owner, unmarked), 'manage');
  t.is(access.level(who.stranger, unmarked), 'none');
  t.is(access.level(undefined, unmarked), 'none');
  t.is(access.level({ name: 'olga', admin: false, groups: [] }, { ...unmarked, owner: 'someone-else' }), 'none');
});

test('assertSignedIn refuses an anonymous caller with 401 and passes anyone else through; assertAdmin refuses non-admins with 403', (t) => {
  t.is(t.throws(() => assertSignedIn(undefined), { instanceOf: VisorError })?.kind, 'unauthenticated');
  const someone: Principal = { name: 'sam', admin: false };
  t.is(assertSignedIn(someone), someone);
  t.is(t.throws(() => assertAdmin(undefined, 'do it'), { instanceOf: VisorError })?.kind, 'unauthenticated');
  t.is(t.throws(() => assertAdmin(someone, 'do it'), { instanceOf: VisorError })?.message, 'only admins may do it');
  const root: Principal = { name: 'root', admin: true };
  t.is(assertAdmin(root, 'do it'), root);
});

test("another instance's image: everyone here may check it out, nobody here (its owner's namesake, grantees, admins) may do more", (t) => {
  const upstream: AccessSubject = { ...images.public, origin: 'pub.example' };
  const levels = Object.fromEntries(CALLERS.map((c) => [c, access.level(who[c], upstream)]));
  t.deepEqual(levels, Object.fromEntries(CALLERS.map((c) => [c, 'checkout'])));
  const refusal = t.throws(() => access.assert(who.admin, upstream, 'commit'), { instanceOf: VisorError });
  t.is(refusal?.kind, 'forbidden');
  t.regex(refusal?.message ?? '', /belongs to olga@pub\.example: only instance pub\.example can change it/);
  t.is(outcome(who.anonymous, upstream, 'commit'), 'unauthenticated');
  t.is(access.level(who.owner, { ...images.public, origin: 'here.example' }), 'manage', 'a record naming this instance is its own');
});

test("a hidden upstream image is gone for everyone but admins; hiding has no effect on this instance's own", async (t) => {
  const upstream: AccessSubject = { id: '66666666-0000-4000-8000-000000000006', owner: 'olga', origin: 'pub.example', access: 'public' };
  await overlay.hide({ id: upstream.id, reason: 'not here', by: 'root', at: new Date().toISOString() });
  const own: AccessSubject = { ...upstream, origin: undefined };
  t.deepEqual(CALLERS.filter((c) => access.canSee(who[c], upstream)), ['admin']);
  t.is(outcome(who.stranger, upstream, 'checkout'), 'not_found');
  t.deepEqual(CALLERS.filter((c) => access.canSee(who[c], own)), CALLERS);
  await overlay.unhide(upstream.id);
  t.true(access.canSee(undefined, upstream));
});

test.serial('the version grows with every grant, revocation, hiding and offering again, and with a trust judge dropping its judgements', async (t) => {
  let judgements = 0;
  const judged = new ImageAccess(grants, new InstanceIdentity('here.example'), overlay, { get version() { return judgements; }, treatment: () => undefined, judge: () => undefined, subject: () => undefined });
  const upstream = '33333333-0000-4000-8000-000000000003';
  const versions = [judged.version];
  const step = async (change: () => Promise<unknown> | void) => {
    await change();
    versions.push(judged.version);
  };
  await step(() => grants.set(images.private.id, { kind: 'user', name: 'vic' }, 'checkout'));
  await step(() => grants.set(images.private.id, { kind: 'user', name: 'vic' }, undefined));
  await step(() => grants.set(images.private.id, { kind: 'group', name: 'viewers' }, 'checkout'));
  await step(() => grants.forgetGrantee({ kind: 'group', name: 'viewers' }));
  await step(() => overlay.hide({ id: upstream, reason: 'not vetted', by: 'root', at: new Date().toISOString() }));
  await step(() => overlay.unhide(upstream));
  await step(() => void judgements++);
  for (let i = 1; i < versions.length; i++) t.true(versions[i]! > versions[i - 1]!, `change ${i}: ${versions.join(' ')}`);
  t.is(access.version, judged.version - judgements, 'the same grants and overlay, without the judge');
});

test("the site trust's version grows each time it drops its judgements (new statements or endorsers arrived)", (t) => {
  const trust = new SiteTrust({ policy: undefined, statementDirs: [], trustDir: dir, record: () => undefined });
  const before = trust.version;
  trust.invalidate();
  t.true(trust.version > before);
});

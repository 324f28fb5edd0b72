/**
 * The per-image ledger and ImageBytes without a daemon: access, rules, commit order and file-work
 * claims over an in-memory index and a recording stand-in for the catalogues (the Git side is
 * covered by the API tests), and failover over in-memory stores.
 */
import test from 'ava';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { CatalogIndex } from '../src/catalog/CatalogIndex.ts';
import type { CatalogRepositories } from '../src/catalog/CatalogRepositories.ts';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { GrantStore } from '../src/access/GrantStore.ts';
import { InstanceIdentity } from '../src/federation/InstanceIdentity.ts';
import { SiteOverlay } from '../src/federation/SiteOverlay.ts';
import { ImageAccess } from '../src/access/ImageAccess.ts';
import type { Principal } from '../src/auth/Principal.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { ImageLedger } from '../src/images/ImageLedger.ts';
import { ImageBytes } from '../src/image-files/ImageBytes.ts';
import { MemoryStore } from '../src/store/memory/MemoryStore.ts';
import { GuardedStore } from '../src/store/GuardedStore.ts';
import { imageRecord } from './helpers/gitRepos.ts';

const schema = new ImageSchema();
const admin: Principal = { name: 'root', admin: true };
const pat: Principal = { name: 'pat', admin: false };
const eve: Principal = { name: 'eve', admin: false };

async function ledgerWith(records: Array<Record<string, unknown>>, save: (r: ImageRecord) => Promise<void> = async () => {}) {
  const index = new CatalogIndex(records as unknown as ImageRecord[]);
  const saved: string[] = [];
  const catalogs = {
    save: async (r: ImageRecord, _previous: unknown, _author: unknown, message: string) => {
      await save(r);
      saved.push(message);
    },
    remove: async (_r: ImageRecord, _author: unknown, message: string) => void saved.push(message),
  } as unknown as CatalogRepositories;
  const dir = await mkdtemp(join(tmpdir(), 'visor-ledger-'));
  const grants = await GrantStore.open(join(dir, 'grants.json'));
  const access = new ImageAccess(grants, new InstanceIdentity('here.example'), await SiteOverlay.open(join(dir, 'site-policy.json')));
  const ledger = new ImageLedger({ schema, index, catalogs, access, identity: new InstanceIdentity('here.example'), storeNames: ['fs'] });
  return { ledger, index, saved, grants };
}

const kindOf = (e: unknown) => (e as VisorError).kind;

test('find answers 404 for an image the caller may not see, 403 for one they see but may not change, 401 for an anonymous change', async (t) => {
  const priv = imageRecord({ owner: 'pat', access: 'private' });
  const pub = imageRecord({ owner: 'pat', access: 'public' });
  const { ledger } = await ledgerWith([priv, pub]);
  t.is(ledger.find(priv.id, pat, 'manage').id, priv.id);
  t.is(ledger.find(priv.id, admin, 'manage').id, priv.id);
  t.is(kindOf(t.throws(() => ledger.find(priv.id, eve))), 'not_found');
  t.is(kindOf(t.throws(() => ledger.find(priv.id, undefined))), 'not_found');
  t.is(kindOf(t.throws(() => ledger.find(pub.id, eve, 'commit'))), 'forbidden');
  t.is(kindOf(t.throws(() => ledger.find(pub.id, undefined, 'commit'))), 'unauthenticated');
  t.is(ledger.find(pub.id, undefined).id, pub.id);
});

test("check refuses a name the owner's series already has; another owner's images, even hidden ones, do not hold it", async (t) => {
  const seen = imageRecord({ owner: 'eve', series: 'cirros', name: 'c-1', access: 'public' });
  const hidden = imageRecord({ owner: 'pat', series: 'cirros', name: 'c-2', access: 'private' });
  const { ledger } = await ledgerWith([seen, hidden]);
  const taken = t.throws(() => ledger.check(imageRecord({ owner: 'eve', series: 'cirros', name: 'c-1' }) as unknown as ImageRecord, eve, undefined)) as VisorError;
  t.deepEqual(taken.problems.map((p) => p.rule), ['unique-in-series']);
  t.regex(taken.message, new RegExp(`image ${seen.id} of series cirros`));
  // Pat's private c-2 is none of eve's business: her c-2 is accepted exactly as a free name would be.
  t.notThrows(() => ledger.check(imageRecord({ owner: 'eve', series: 'cirros', name: 'c-2' }) as unknown as ImageRecord, eve, undefined));
  // The record itself is not its own namesake (an update that keeps its name).
  t.notThrows(() => ledger.check(seen as unknown as ImageRecord, eve, seen as unknown as ImageRecord));
  // A change that keeps the name is not refused for a namesake that arrived from elsewhere (a sync).
  const twin = imageRecord({ owner: 'eve', series: 'cirros', name: 'c-1', access: 'public' });
  const { ledger: merged } = await ledgerWith([seen, twin]);
  t.notThrows(() => merged.check({ ...seen, description: 'edited' } as unknown as ImageRecord, eve, seen as unknown as ImageRecord));
  t.throws(() => merged.check(seen as unknown as ImageRecord, eve, { ...seen, name: 'c-0' } as unknown as ImageRecord), undefined, 'a change that gives the name is judged');
});

test('check refuses a store the daemon does not have and a kernel the caller cannot see, as missing', async (t) => {
  const kernel = imageRecord({ owner: 'pat', access: 'private', type: 'kernel' });
  const { ledger } = await ledgerWith([kernel]);
  const e = t.throws(() => ledger.check(imageRecord({ owner: 'eve', store: 'elsewhere', kernel: kernel.id }) as unknown as ImageRecord, eve, undefined)) as VisorError;
  t.deepEqual(e.problems.map((p) => `${p.field} ${p.rule}`).sort(), ['kernel reference', 'store exists']);
  t.regex(e.message, new RegExp(`kernel: no image ${kernel.id}`));
});

test('a commit enters the index only once the catalogue has it; a failed commit leaves the index as it was', async (t) => {
  const r = imageRecord({ owner: 'pat' }) as unknown as ImageRecord;
  let fail = true;
  let seenDuringSave: ImageRecord | undefined;
  const { ledger, index } = await ledgerWith([], async (x) => {
    seenDuringSave = index.get(x.id);
    if (fail) throw new Error('disk full');
  });
  await t.throwsAsync(ledger.commit(r, pat, 'add'), { message: 'disk full' });
  t.is(index.get(r.id), undefined);
  fail = false;
  await ledger.commit(r, pat, 'add');
  t.is(seenDuringSave, undefined, 'not in the index while the commit was under way');
  t.is(index.get(r.id), r);
});

test('file work is claimed once: a second claim and a delete meanwhile are conflicts, and gc sees the image busy', async (t) => {
  const r = imageRecord({ owner: 'pat', status: 'locked' });
  const { ledger } = await ledgerWith([r]);
  let release!: () => void;
  const first = ledger.withFile(r.id, pat, 'commit', () => new Promise<void>((done) => (release = done)));
  await new Promise((resolve) => setImmediate(resolve));
  t.true(ledger.busy.has(r.id));
  t.is(kindOf(await t.throwsAsync(ledger.withFile(r.id, pat, 'commit', async () => undefined))), 'conflict');
  t.is(kindOf(await t.throwsAsync(ledger.erase(r as unknown as ImageRecord, pat, 'delete'))), 'conflict');
  release();
  await first;
  t.false(ledger.busy.has(r.id));
  await t.notThrowsAsync(ledger.erase(r as unknown as ImageRecord, pat, 'delete'));
});

test('changes of one image run one at a time, each on the record the previous one left', async (t) => {
  const r = imageRecord({ owner: 'pat', tags: [] as string[] });
  const { ledger, index } = await ledgerWith([r]);
  await Promise.all(
    ['a', 'b', 'c', 'd'].map((tag) => ledger.change(r.id, pat, (current) => ({ ...current, tags: [...(current.tags ?? []), tag] }), `tag ${tag}`)),
  );
  t.deepEqual(index.get(r.id)!.tags, ['a', 'b', 'c', 'd']);
});

async function storeWith(name: string, objects: Record<string, string>): Promise<GuardedStore> {
  const store = new GuardedStore(new MemoryStore({ name }));
  for (const [key, content] of Object.entries(objects)) {
    const w = await store.write(key);
    await pipeline(Readable.from([Buffer.from(content)]), w.stream);
    await w.commit();
  }
  return store;
}

test('ImageBytes opens the first location that answers, positional or streamed, and tries a failed store last', async (t) => {
  const a = await storeWith('a', {});
  const b = await storeWith('b', { k: 'hello world' });
  const bytes = new ImageBytes(new Map([['a', a], ['b', b]]));
  const locations = [{ store: 'a', key: 'k' }, { store: 'b', key: 'k' }, { store: 'gone', key: 'k' }];

  const streamed = await bytes.open(locations, { range: { start: 6, end: 10 } });
  t.is(streamed.location.store, 'b');
  t.is(streamed.kind === 'stream' ? await text(streamed.stream) : '', 'world');

  const positional = await bytes.open(locations, { positional: true });
  t.is(positional.kind, 'positional');
  if (positional.kind === 'positional') {
    const buffer = Buffer.alloc(5);
    t.is(await positional.reader.read(buffer, 0, 5), 5);
    t.is(buffer.toString(), 'hello');
  }
  // A store it has no adapter for is never tried; the one that just failed goes last.
  t.deepEqual(bytes.order(locations).map((l) => l.store), ['b', 'a']);
});

test('ImageBytes answers unavailable, naming each failure, when no location can be read', async (t) => {
  const bytes = new ImageBytes(new Map([['a', await storeWith('a', {})]]));
  const e = (await t.throwsAsync(bytes.open([{ store: 'a', key: 'k' }], { positional: true }))) as VisorError;
  t.is(e.kind, 'unavailable');
  t.regex(e.message, /object k in store a not found/);
  t.is(kindOf(await t.throwsAsync(bytes.open([]))), 'unavailable');
});

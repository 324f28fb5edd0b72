import test from 'ava';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { authed } from './helpers/http.ts';
import { createImage } from './helpers/images.ts';

interface Listing {
  images: Array<Record<string, unknown> & { id: string; name: string }>;
  next?: string;
}

let d: TestDaemon;
const ids: Record<string, string> = {};

// A fixed catalogue of seven images, registered one after another so created_at orders them.
const IMAGES = [
  { name: 'alpha', architecture: 'x86_64', disk: 'qcow2', access: 'public', min_ram: 256, tags: ['base', 'tiny'], properties: { os_distro: 'alpine' } },
  { name: 'bravo', architecture: 'aarch64', disk: 'raw', access: 'public', min_ram: 1024, tags: ['base'] },
  { name: 'charlie', architecture: 'x86_64', disk: 'vmdk', access: 'public', min_ram: 2048 },
  { name: 'delta', architecture: 'x86_64', disk: 'qcow2', access: 'private', min_ram: 512, tags: ['tiny'] },
  { name: 'echo', architecture: 'riscv64', disk: 'qcow2', access: 'public', min_ram: 4096, properties: { os_distro: 'debian' } },
  { name: 'foxtrot', architecture: 'x86_64', disk: 'iso', access: 'public' },
  { name: 'golf', architecture: 'x86_64', disk: 'qcow2', access: 'public', min_ram: 256 },
];

test.before(async () => {
  d = await startTestDaemon();
  for (const img of IMAGES) ids[img.name] = await createImage(d, d.token, img);
});
test.after.always(async () => {
  await d?.stop();
});

async function list(query: string, token?: string): Promise<Listing> {
  const res = await fetch(`${d.url}/images${query}`, token ? authed(token) : {});
  if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
  return (await res.json()) as Listing;
}

const names = (l: Listing) => l.images.map((i) => i.name);

test('the brief list shows public images, newest first, with brief fields only', async (t) => {
  const l = await list('');
  t.deepEqual(names(l), ['golf', 'foxtrot', 'echo', 'charlie', 'bravo', 'alpha']);
  t.deepEqual(Object.keys(l.images[0]!).sort(), ['access', 'architecture', 'disk', 'id', 'name', 'status', 'uri'].sort());
  t.is(l.next, undefined);
});

test('detail lists carry whole records', async (t) => {
  const l = await list('/detail?name=alpha');
  t.is(l.images.length, 1);
  t.is(l.images[0]!['min_ram'], 256);
  t.deepEqual(l.images[0]!['properties'], { os_distro: 'alpine' });
  t.is(l.images[0]!['owner'], 'admin');
});

test('an authenticated caller also sees private images', async (t) => {
  t.true(names(await list('?limit=1000', d.token)).includes('delta'));
  t.false(names(await list('?limit=1000')).includes('delta'));
});

test('equality filters on any field; a repeated field means any of its values', async (t) => {
  t.deepEqual(names(await list('?disk=qcow2&sort=name&dir=asc')), ['alpha', 'echo', 'golf']);
  t.deepEqual(names(await list('?disk=qcow2&architecture=x86_64&sort=name&dir=asc')), ['alpha', 'golf']);
  t.deepEqual(names(await list('?disk=raw&disk=iso&sort=name&dir=asc')), ['bravo', 'foxtrot']);
  t.deepEqual(names(await list('?min_ram=256&sort=name&dir=asc')), ['alpha', 'golf']);
  t.deepEqual(names(await list(`?id=${ids['charlie']!}`)), ['charlie']);
  t.deepEqual(names(await list('?disk=vhdx')), []);
});

test('ranges with _min and _max on sizes and dates', async (t) => {
  t.deepEqual(names(await list('?min_ram_min=1000&min_ram_max=3000&sort=name&dir=asc')), ['bravo', 'charlie']);
  const all = await list('/detail?sort=created_at&dir=asc', d.token);
  const since = String(all.images[4]!['created_at']);
  t.deepEqual(names(await list(`?created_at_min=${encodeURIComponent(since)}&sort=created_at&dir=asc`)), ['echo', 'foxtrot', 'golf']);
  t.deepEqual(names(await list('?created_at_max=2000-01-01')), []);
});

test('tags must all be present; properties filter by property.<key>', async (t) => {
  t.deepEqual(names(await list('?tag=base&sort=name&dir=asc')), ['alpha', 'bravo']);
  t.deepEqual(names(await list('?tag=base&tag=tiny')), ['alpha']);
  t.deepEqual(names(await list('?property.os_distro=debian')), ['echo']);
});

test('sorting by any scalar field in either direction; ties break on id', async (t) => {
  t.deepEqual(names(await list('?sort=name&dir=asc')), ['alpha', 'bravo', 'charlie', 'echo', 'foxtrot', 'golf']);
  t.deepEqual(names(await list('?sort=name&dir=desc')), ['golf', 'foxtrot', 'echo', 'charlie', 'bravo', 'alpha']);
  const byRam = await list('?sort=min_ram&dir=asc');
  const tied = byRam.images.filter((i) => i.name === 'alpha' || i.name === 'golf').map((i) => i.id);
  t.deepEqual(tied, [...tied].sort(), 'equal keys come in id order');
  t.is(byRam.images[0]!.name, 'foxtrot', 'a missing value sorts first in ascending order');
});

test('pages follow the next link until the end, without repeats or gaps', async (t) => {
  const seen: string[] = [];
  let url: string | undefined = '/images?limit=2&sort=name&dir=asc';
  let pages = 0;
  while (url) {
    const res = await fetch(`${d.url}${url}`);
    const page = (await res.json()) as Listing;
    seen.push(...names(page));
    url = page.next;
    pages++;
    if (url) t.regex(url, /^\/images\?.*marker=/);
  }
  t.is(pages, 3);
  t.deepEqual(seen, ['alpha', 'bravo', 'charlie', 'echo', 'foxtrot', 'golf']);
  const filtered = await list('?disk=qcow2&limit=1&sort=name&dir=asc');
  t.true(filtered.next?.includes('disk=qcow2'), 'the next link keeps the filters');
});

test('bad list parameters are refused, naming the parameter', async (t) => {
  const cases: Array<[string, string, string]> = [
    ['?sort=description', 'sort', 'enum'],
    ['?dir=up', 'dir', 'enum'],
    ['?limit=0', 'limit', 'range'],
    ['?limit=abc', 'limit', 'range'],
    ['?limit=1001', 'limit', 'range'],
    ['?marker=nope', 'marker', 'pattern'],
    ['?marker=00000000-0000-4000-8000-000000000000', 'marker', 'exists'],
    ['?disk=floppy', 'disk', 'enum'],
    ['?min_ram=lots', 'min_ram', 'type'],
    ['?created_at_min=yesterday', 'created_at_min', 'format'],
    ['?name_min=a', 'name_min', 'range'],
    ['?colour=blue', 'colour', 'filter'],
    ['?locations=x', 'locations', 'filter'],
  ];
  for (const [query, field, rule] of cases) {
    const res = await fetch(`${d.url}/images${query}`);
    t.is(res.status, 400, query);
    const { error } = (await res.json()) as { error: { problems: { field: string; rule: string }[] } };
    t.deepEqual([error.problems[0]?.field, error.problems[0]?.rule], [field, rule], query);
  }
});

test('a private image as marker is unknown to anonymous callers', async (t) => {
  const res = await fetch(`${d.url}/images?marker=${ids['delta']!}`);
  t.is(res.status, 400);
});

import test from 'ava';
import { startTestDaemon } from './helpers/daemon.ts';
import { jsonRequest, authed } from './helpers/http.ts';
import { visorAt } from './helpers/cli.ts';
import { createImage } from './helpers/images.ts';
import { addUser, grant } from './helpers/accounts.ts';

interface Entry {
  commit: string;
  catalog: string;
  author: string;
  date: string;
  message: string;
  change: string;
  fields: Array<{ field: string; old?: unknown; new?: unknown }>;
}

test('history lists each change of an image, newest first: who, when, which fields, old → new', async (t) => {
  const d = await startTestDaemon();
  try {
    const id = await createImage(d, d.token, { name: 'debian', access: 'public', min_ram: 256 });
    await fetch(`${d.url}/images/${id}`, jsonRequest(d.token, 'PUT', { name: 'debian-12', min_ram: 512 }));
    await fetch(`${d.url}/images/${id}/file`, authed(d.token, { method: 'PUT', body: 'disk' }));
    await fetch(`${d.url}/images/${id}`, jsonRequest(d.token, 'PUT', { access: 'private' }));

    const res = await fetch(`${d.url}/images/${id}/history`, authed(d.token));
    t.is(res.status, 200);
    const { history } = (await res.json()) as { history: Entry[] };
    t.deepEqual(history.map((e) => `${e.catalog}:${e.change}`), ['private:updated', 'shared:updated', 'shared:updated', 'shared:updated', 'shared:created']);
    t.deepEqual(history[0]!.fields.find((f) => f.field === 'access'), { field: 'access', old: 'public', new: 'private' }, 'the move between catalogues is one change of access');
    const rename = history.find((e) => e.message.startsWith(`Update image ${id}: name, min_ram`))!;
    t.is(rename.author, 'admin');
    t.regex(rename.commit, /^[0-9a-f]{40}$/);
    t.deepEqual(rename.fields.filter((f) => f.field !== 'updated_at'), [
      { field: 'name', old: 'debian', new: 'debian-12' },
      { field: 'min_ram', old: 256, new: 512 },
    ]);
    const upload = history.find((e) => e.message.startsWith(`Upload image ${id}`))!;
    t.true(upload.fields.some((f) => f.field === 'checksum' && f.old === undefined && typeof f.new === 'string'));
    for (let i = 1; i < history.length; i++) t.true(history[i - 1]!.date >= history[i]!.date);

    t.is((await fetch(`${d.url}/images/${id}/history`)).status, 404, 'a private image has no history for anonymous callers');

    const cli = await visorAt(d).json<Entry[]>(['history', id]);
    t.deepEqual(cli.map((e) => e.commit), history.map((e) => e.commit), 'the CLI lists the same changes');
  } finally {
    await d.stop();
  }
});

test('history tells each caller only the versions they could read: a private past made public stays private', async (t) => {
  const d = await startTestDaemon();
  try {
    const alice = await addUser(d, 'alice');
    const bob = await addUser(d, 'bob');
    const carol = await addUser(d, 'carol');
    const id = await createImage(d, alice, { name: 'internal-base', access: 'private', description: 'TOPSECRET' });
    await fetch(`${d.url}/images/${id}`, jsonRequest(alice, 'PUT', { properties: { internal_host: 'db01.corp.internal' } }));
    await fetch(`${d.url}/images/${id}`, jsonRequest(alice, 'PUT', { description: null, properties: null }));
    await grant(d, alice, id, 'users', 'carol', 'checkout');
    const published = await fetch(`${d.url}/images/${id}`, jsonRequest(alice, 'PUT', { access: 'public', description: 'a clean base' }));
    t.is(published.status, 200);

    const historyAs = async (key: string | undefined): Promise<{ text: string; history: Entry[] }> => {
      const res = await fetch(`${d.url}/images/${id}/history`, key ? authed(key) : {});
      t.is(res.status, 200);
      const text = await res.text();
      return { text, history: (JSON.parse(text) as { history: Entry[] }).history };
    };
    for (const [who, key] of [['anonymous', undefined], ['a stranger', bob]] as const) {
      const { text, history } = await historyAs(key);
      t.notRegex(text, /TOPSECRET|db01\.corp\.internal|internal_host/, `${who} reads nothing of the private past`);
      t.is(history.length, 1, `${who} sees the image from when it became public`);
      t.deepEqual(history[0]!.fields.find((f) => f.field === 'description'), { field: 'description', new: 'a clean base' });
      t.false(history[0]!.fields.some((f) => f.old !== undefined), 'nothing is told against a version they could not read');
    }
    // Those who could read the private versions read them all.
    for (const key of [alice, carol, d.token]) {
      const { text, history } = await historyAs(key);
      t.regex(text, /TOPSECRET/);
      t.regex(text, /db01\.corp\.internal/);
      t.is(history.length, 4, "created, a property added, both cleaned, made public");
    }
  } finally {
    await d.stop();
  }
});

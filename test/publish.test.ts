import test from 'ava';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { startTestDaemon } from './helpers/daemon.ts';
import { runVisor, runVisorJson } from './helpers/cli.ts';
import { sha256 } from './helpers/images.ts';
import { git, publisherIdentity, serverAndClone, recordFile, readRecordFile } from './helpers/gitRepos.ts';

/** A catalogue server and a publisher's clone (hooks in both), and a disk image to publish. */
async function serverCloneAndDisk() {
  const { root, server, clone } = await serverAndClone({ hooksInClone: true });
  const disk = join(root, 'disk.img');
  const bytes = randomBytes(300_000);
  await writeFile(disk, bytes);
  return { root, server, clone, disk, sha: sha256(bytes) };
}

// `visor publish` commits in the clone as the person running it: the test names that person.
const visor = <T>(args: string[], env: Record<string, string> = {}) => runVisorJson<T>(args, { env: { ...publisherIdentity(), ...env } });

test('publish to a store folder: the disk lands in the store, the metadata on a pushed branch the server accepted', async (t) => {
  const { root, server, clone, disk, sha } = await serverCloneAndDisk();
  const store = join(root, 'store');
  const out = await visor<{ record: { id: string; checksum: string; size: number }; branch: string; pushed: boolean }>(['publish', disk, '--name', 'cirros-0.6.2', '--arch', 'x86_64', '--disk', 'qcow2', '--series', 'cirros', '--repo', clone, '--store-dir', store, '--owner', 'pat']);
  t.is(out.record.checksum, sha);
  t.is(out.record.size, 300_000);
  t.true(out.pushed);
  const id = out.record.id;
  t.is(sha256(await readFile(join(store, id.slice(0, 2), id))), sha);
  const onServer = JSON.parse(git(server, 'show', `${out.branch}:${recordFile(id)}`)) as Record<string, unknown>;
  t.like(onServer, { id, name: 'cirros-0.6.2', status: 'available', access: 'public', owner: 'pat', series: 'cirros', locations: [{ store: 'fs', key: id }] });
});

test('publish through a daemon: the daemon holds the file and the branch carries the same record', async (t) => {
  const { clone, disk, sha } = await serverCloneAndDisk();
  const d = await startTestDaemon();
  try {
    const out = await visor<{ record: { id: string }; pushed: boolean }>(['publish', disk, '--name', 'alpine-3.20', '--repo', clone, '--to-daemon', '--no-push'], { VISOR_URL: d.url, VISOR_TOKEN: d.token });
    t.false(out.pushed);
    const fromDaemon = (await (await fetch(`${d.url}/images/${out.record.id}`)).json()) as Record<string, unknown>;
    t.is(fromDaemon['checksum'], sha);
    const inClone = await readRecordFile(clone, out.record.id);
    for (const field of ['id', 'name', 'checksum', 'size', 'owner', 'created_at', 'uploaded_at']) t.deepEqual(inClone[field], fromDaemon[field], field);
    t.false('uri' in inClone);
  } finally {
    await d.stop();
  }
});

test('publish refuses what the catalogue rules refuse, before anything is pushed', async (t) => {
  const { root, clone, disk, server } = await serverCloneAndDisk();
  const refused = await runVisor(['--json', 'publish', disk, '--name', 'bad', '--arch', 'vax', '--repo', clone, '--store-dir', join(root, 'store')]);
  t.is(refused.code, 2, 'invalid input');
  t.regex(refused.stderr, /architecture/);
  t.is(git(server, 'branch', '--list', 'publish/*').trim(), '');
  t.deepEqual(await readdir(join(root, 'store')).catch(() => []), [], 'no orphaned disk in the store');
});

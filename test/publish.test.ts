import test from 'ava';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { startTestDaemon } from './helpers/daemon.ts';
import { runVisor, runVisorJson } from './helpers/cli.ts';
import { sha256 } from './helpers/images.ts';
import { git, publisherIdentity, serverAndClone, recordFile } from './helpers/gitRepos.ts';
import { execFileSync } from 'node:child_process';
import { qemuImg } from './helpers/diskImages.ts';

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
  const out = await visor<{ record: { id: string; checksum: string; size: number }; branch: string; pushed: boolean }>(['publish', disk, '--name', 'cirros-0.6.2', '--arch', 'x86_64', '--disk', 'raw', '--series', 'cirros', '--repo', clone, '--store-dir', store, '--owner', 'pat']);
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
    const out = await visor<{ record: { id: string }; pushed: boolean; branch: string }>(['publish', disk, '--name', 'alpine-3.20', '--repo', clone, '--to-daemon', '--no-push'], { VISOR_URL: d.url, VISOR_TOKEN: d.token });
    t.false(out.pushed);
    t.is((await fetch(`${d.url}/images/${out.record.id}`)).status, 404, 'nothing is public before the review');
    const fromDaemon = (await (await fetch(`${d.url}/images/${out.record.id}`, { headers: { authorization: `Bearer ${d.token}` } })).json()) as Record<string, unknown>;
    t.is(fromDaemon['checksum'], sha);
    t.is(fromDaemon['access'], 'private');
    const inClone = JSON.parse(git(clone, 'show', `${out.branch}:${recordFile(out.record.id)}`)) as Record<string, unknown>;
    for (const field of ['id', 'name', 'checksum', 'size', 'owner', 'created_at', 'uploaded_at']) t.deepEqual(inClone[field], fromDaemon[field], field);
    t.is(inClone['access'], 'public', 'the record proposed for review is the public one');
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

test('publish to a store folder inspects the disk like an upload: the record carries what was found, and a hostile disk is refused leaving nothing', async (t) => {
  const { root, clone, server } = await serverCloneAndDisk();
  const store = join(root, 'store');
  const good = join(root, 'good.qcow2');
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', good, '3M'], { stdio: 'ignore' });
  const out = await visor<{ record: Record<string, unknown> }>(['publish', good, '--name', 'inspected', '--disk', 'qcow2', '--repo', clone, '--store-dir', store, '--owner', 'pat', '--no-push']);
  t.like(out.record, { virtual_size: 3 << 20, inspection: { format: 'qcow2', virtual_size: 3 << 20, compat: '1.1' } });
  const backed = join(root, 'backed.qcow2');
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  const before = await readdir(store, { recursive: true });
  const refused = await runVisor(['--json', 'publish', backed, '--name', 'hostile', '--disk', 'qcow2', '--repo', clone, '--store-dir', store, '--owner', 'pat'], { env: publisherIdentity() });
  t.is(refused.code, 2);
  t.regex(refused.stderr, /qcow2-backing-file/);
  t.deepEqual(await readdir(store, { recursive: true }), before, 'nothing more in the store');
  t.is(git(server, 'branch', '--list', 'publish/hostile*').trim(), '');
});

test('each publish is one change on top of the upstream main, and the publisher\'s checkout is left as it was', async (t) => {
  const { root, server, clone, disk } = await serverCloneAndDisk();
  // The publisher is on a branch of their own, with work in progress.
  git(clone, 'checkout', '-q', '-b', 'my-work');
  await writeFile(join(clone, 'notes.txt'), 'work in progress\n');
  const store = join(root, 'store');
  const first = await visor<{ branch: string }>(['publish', disk, '--name', 'first-image', '--repo', clone, '--store-dir', store, '--owner', 'pat']);
  const second = await visor<{ branch: string }>(['publish', disk, '--name', 'second-image', '--repo', clone, '--store-dir', store, '--owner', 'pat']);
  for (const branch of [first.branch, second.branch]) {
    t.is(git(server, 'rev-list', '--count', `main..${branch}`).trim(), '1', `${branch} is one commit on main`);
    t.is(git(server, 'merge-base', 'main', branch).trim(), git(server, 'rev-parse', 'main').trim());
  }
  t.is(git(clone, 'branch', '--show-current').trim(), 'my-work');
  t.is(git(clone, 'status', '--porcelain').trim(), '?? notes.txt', 'nothing staged, nothing checked out');
});

test('a publish the upstream refuses leaves nothing behind: no branch, no stored disk, no image on the daemon', async (t) => {
  const { root, server, clone, disk } = await serverCloneAndDisk();
  // An upstream that refuses every push (a protected repository, a failing check).
  await writeFile(join(server, 'hooks', 'pre-receive'), '#!/bin/sh\necho "refused by policy" >&2\nexit 1\n', { mode: 0o755 });
  const store = join(root, 'store');
  const toStore = await runVisor(['--json', 'publish', disk, '--name', 'refused-image', '--repo', clone, '--store-dir', store, '--owner', 'pat'], { env: publisherIdentity() });
  t.not(toStore.code, 0);
  t.regex(toStore.stderr, /refused by policy/);
  t.deepEqual(await readdir(store, { recursive: true }).then((names) => names.filter((n) => !n.startsWith('.') && n.length > 2)), [], 'no disk left in the store');
  const d = await startTestDaemon();
  try {
    const viaDaemon = await runVisor(['--json', 'publish', disk, '--name', 'refused-too', '--repo', clone, '--to-daemon'], { env: { ...publisherIdentity(), VISOR_URL: d.url, VISOR_TOKEN: d.token } });
    t.not(viaDaemon.code, 0);
    const images = (await (await fetch(`${d.url}/images`, { headers: { authorization: `Bearer ${d.token}` } })).json()) as { images: unknown[] };
    t.deepEqual(images.images, [], 'the daemon holds no image of a refused publish');
  } finally {
    await d.stop();
  }
  t.is(git(clone, 'branch', '--list', 'publish/*').trim(), '', 'no local branch');
  t.is(git(clone, 'status', '--porcelain').trim(), '');
});

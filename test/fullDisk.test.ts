/**
 * A data directory on a disk that fills up (a small tmpfs): writes are refused with a reason that
 * says so, nothing half-done is served, the audit log loses nothing, and all is well once space is
 * freed. Mounting needs root, as `npm test` has (it installs the test Swift with apt).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, putFile } from './helpers/images.ts';
import { gitAsync, tempDir } from './helpers/gitRepos.ts';

/** Writes until the disk is full; answers the filler's path. */
async function fillDisk(dir: string): Promise<string> {
  const path = join(dir, 'filler');
  const file = await open(path, 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) await file.write(chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    await file.close().catch(() => undefined);
  }
  // The last partial chunk may have squeezed in: a few bytes more each, until nothing fits.
  const tail = await open(path, 'a');
  try {
    for (;;) await tail.write(Buffer.alloc(512, 1));
  } catch {
    // full
  } finally {
    await tail.close().catch(() => undefined);
  }
  return path;
}

test('a full disk: writes are refused saying so, reads go on, the audit log loses nothing, and space freed is service back', async (t) => {
  t.is(process.getuid?.(), 0, 'mounting the small disk needs root');
  const mount = await tempDir('visor-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', 'tmpfs', mount]);
  t.teardown(() => {
    execFileSync('umount', ['-l', mount]);
  });
  const dataDir = join(mount, 'data');
  const d = await startTestDaemon({ dataDir });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) await d.stop();
  });
  const before = await createImage(d, d.token, { name: 'before-full', access: 'public' });
  const filler = await fillDisk(mount);

  t.teardown(() => rm(filler, { force: true }));

  const refused = await call(d, d.token, 'POST', '/images', { name: 'while-full', access: 'public' });
  t.is(refused.status, 503);
  t.regex(JSON.stringify(refused.json), /disk is full|no space left/i, 'the refusal says why');
  t.notRegex(JSON.stringify(refused.json), /moved outside the daemon/);
  // Reads go on, until the audit log's last block is full too, and after.
  const reads = 40;
  for (let i = 0; i < reads; i++) {
    t.is((await call(d, d.token, 'GET', `/images/${before}`)).status, 200);
    t.is((await call(d, undefined, 'GET', '/images')).status, 200);
  }
  // The audit log cannot take more entries: changes are refused rather than left unrecorded.
  const unrecorded = await call(d, d.token, 'PUT', `/images/${before}`, { description: 'changed while full' });
  t.is(unrecorded.status, 503);
  t.regex((unrecorded.json as { error: { message: string } }).error.message, /audit log cannot be written/);
  t.is(((await call(d, d.token, 'GET', `/images/${before}`)).json as { description?: string }).description, undefined);
  const upload = await putFile(d, d.token, before, randomBytes(256 * 1024));
  t.is(upload.status, 503);
  await upload.arrayBuffer();

  await rm(filler);
  const after = await createImage(d, d.token, { name: 'after-full', access: 'public' });
  t.is((await call(d, d.token, 'GET', `/images/${after}`)).status, 200);
  await d.daemon.core.accessControl.audit.flush();
  const lines = (await readFile(join(dataDir, 'audit', 'audit.log'), 'utf8')).trimEnd().split('\n');
  const entries = lines.map((l) => JSON.parse(l) as { method?: string; path?: string; status?: number; request?: string });
  // Every request made while the disk was full is in the log, in order, whole.
  const whileFull = entries.filter((e) => e.status === 503);
  t.is(whileFull.length, 3, 'the refused create, the refused update and the refused upload');
  t.is(entries.filter((e) => e.method === 'GET' && e.path === `/images/${before}`).length, reads + 1);
  t.false(lines.some((l) => l.includes('lost_entries')), 'nothing had to be dropped');

  stopped = true;
  await d.stop();
  const again = await startTestDaemon({ dataDir });
  const names = ((await call(again, again.token, 'GET', '/images')).json as { images: Array<{ name: string }> }).images.map((i) => i.name).sort();
  t.deepEqual(names, ['after-full', 'before-full'], 'the refused create was never served');
  await again.stop();
  for (const catalog of ['catalog', 'private-catalog']) t.is((await gitAsync(join(dataDir, catalog), 'fsck', '--full', '--no-progress')).status, 0);
});

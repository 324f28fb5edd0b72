/**
 * Another local account reads nothing of an instance: the data directory, the private catalogue
 * (wherever it is configured) and the index snapshots are owner-only, even when they existed with
 * looser modes before.
 */
import test from 'ava';
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { createImage, unique, uploadFile } from './helpers/images.ts';

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

test('the data directory, the private catalogue and the snapshots are owner-only', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'visor-modes-'));
  const dataDir = join(root, 'data');
  const privatePath = join(root, 'elsewhere', 'private');
  await mkdir(dataDir, { mode: 0o755 });
  await chmod(dataDir, 0o755);
  const d = await startTestDaemon({ dataDir, config: { catalog: { private_path: privatePath } } });
  try {
    const id = await createImage(d, d.token, { name: unique('secret'), access: 'private' });
    await uploadFile(d, d.token, id, Buffer.from('bytes'));
    t.is((await call(d, d.token, 'GET', `/images/${id}/file`)).status, 200);
    t.is(await modeOf(dataDir), 0o700);
    t.is(await modeOf(privatePath), 0o700);
  } finally {
    await d.stop();
  }
  const written = (await readdir(dataDir)).filter((f) => f.endsWith('.json'));
  t.true(written.includes('private-catalog-index.json'), written.join(', '));
  t.true(written.includes('access-stats.json'), written.join(', '));
  for (const file of written) t.is(await modeOf(join(dataDir, file)), 0o600, file);
  await rm(root, { recursive: true, force: true });
});

import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/config/VisorConfig.ts';
import { VisorError } from '../src/errors/VisorError.ts';
import { startTestDaemon } from './helpers/daemon.ts';

test('with no file, everything lives under the data directory on loopback port 4568', (t) => {
  const c = loadConfig({ env: { HOME: '/home/u' } });
  t.is(c.dataDir, '/home/u/.local/share/visor');
  t.is(c.catalog.path, '/home/u/.local/share/visor/catalog');
  t.is((c.stores['fs'] as { path?: string } | undefined)?.path, '/home/u/.local/share/visor/images');
  t.is(c.server.host, '127.0.0.1');
  t.is(c.server.port, 4568);
  t.is(c.uploads.checksum, 'sha256');
});

test('the commented example configuration is valid and equals the defaults', (t) => {
  const env = { HOME: '/home/u' };
  t.deepEqual(loadConfig({ configPath: 'daemon/visor.example.toml', env }), loadConfig({ env }));
});

test('environment variables override the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-conf-'));
  const file = join(dir, 'visor.toml');
  await writeFile(file, 'data_dir = "/srv/visor"\n[server]\nport = 9000\n[uploads]\nchecksum = "sha512"\n');
  const c = loadConfig({ configPath: file, env: { HOME: '/h', VISOR_PORT: '9100', VISOR_MAX_UPLOAD_BYTES: '1000' } });
  t.is(c.dataDir, '/srv/visor');
  t.is(c.server.port, 9100);
  t.is(c.uploads.checksum, 'sha512');
  t.is(c.uploads.maxBytes, 1000);
  t.is(loadConfig({ configPath: file, env: { HOME: '/h', VISOR_DATA_DIR: '/data' } }).catalog.path, '/data/catalog');
});

test('unknown settings and bad values are refused, naming the setting', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-conf-'));
  const file = join(dir, 'visor.toml');
  await writeFile(file, '[server]\nprot = 1\n');
  const unknown = t.throws(() => loadConfig({ configPath: file, env: {} }), { instanceOf: VisorError });
  t.is(unknown?.problems[0]?.field, 'server.prot');
  const port = t.throws(() => loadConfig({ env: { HOME: '/h', VISOR_PORT: '99999' } }), { instanceOf: VisorError });
  t.is(port?.problems[0]?.field, 'server.port');
  const sum = t.throws(() => loadConfig({ env: { HOME: '/h', VISOR_CHECKSUM: 'md5' } }), { instanceOf: VisorError });
  t.is(sum?.problems[0]?.field, 'uploads.checksum');
  const store = t.throws(() => loadConfig({ env: { HOME: '/h' }, overrides: { stores: { tape: { type: 'ftp' } } } }), { instanceOf: VisorError });
  t.is(store?.problems[0]?.field, 'stores.tape.type');
  await writeFile(file, 'this is not toml');
  t.throws(() => loadConfig({ configPath: file, env: {} }), { message: /cannot read configuration/ });
});

test('a data directory that cannot be created stops the start with that error', async (t) => {
  const parent = await mkdtemp(join(tmpdir(), 'visor-notdir-'));
  const file = join(parent, 'a-file');
  await writeFile(file, 'not a directory');
  try {
    const error = await t.throwsAsync(startTestDaemon({ dataDir: join(file, 'data') }));
    t.regex(error.message, /ENOTDIR|not a directory/);
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
});

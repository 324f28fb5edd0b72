import test from 'ava';
import { loadConfig, type ConfigFile } from '../src/config/VisorConfig.ts';
import { VisorError } from '../src/errors/VisorError.ts';

const env = { HOME: '/home/u' };
const load = (stores: ConfigFile['stores'], extra: NodeJS.ProcessEnv = {}) => loadConfig({ overrides: { stores }, env: { ...env, ...extra } });
const s3 = { type: 's3', bucket: 'images', endpoint: 'http://127.0.0.1:8080' };
const swift = { type: 'swift', auth_url: 'http://127.0.0.1:8080/auth/v1.0', user: 'a:b', key: 'k', container: 'images' };

test('every store type is read with its defaults; secrets may come from VISOR_STORE_<NAME>_<SETTING>', (t) => {
  const c = load(
    { s3, swift, web: { type: 'http', url: 'https://mirror.example.org/images/' }, lake: { type: 'hdfs', url: 'http://namenode:9870', user: 'visor' }, ks: { type: 'swift', auth_url: 'https://id.example.org/v3', user: 'u', project: 'p', container: 'c' } },
    { VISOR_STORE_S3_ACCESS_KEY_ID: 'AKIA1', VISOR_STORE_S3_SECRET_ACCESS_KEY: 's3cr3t', VISOR_STORE_KS_PASSWORD: 'pw' },
  );
  t.like(c.stores['s3'], { type: 's3', bucket: 'images', region: 'us-east-1', forcePathStyle: true, accessKeyId: 'AKIA1', secretAccessKey: 's3cr3t', partSize: 16 << 20, parallelParts: 4, maxParts: 10000, retries: 3, timeoutMs: 30000 });
  t.like(c.stores['swift'], { type: 'swift', authVersion: 1, segmentContainer: 'images_segments', segmentSize: 1 << 30, maxSegments: 1000 });
  t.like(c.stores['ks'], { authVersion: 3, password: 'pw', userDomain: 'Default', projectDomain: 'Default', interface: 'public' });
  t.like(c.stores['web'], { type: 'http', url: 'https://mirror.example.org/images/' });
  t.like(c.stores['lake'], { type: 'hdfs', path: '/visor', user: 'visor' });
});

const refused: Array<[string, ConfigFile['stores'], string, NodeJS.ProcessEnv?]> = [
  ['an unknown type', { x: { type: 'ftp' } }, 'stores.x.type'],
  ['a setting of another type', { x: { ...s3, container: 'c' } }, 'stores.x.container'],
  ['an s3 store without bucket', { x: { type: 's3' } }, 'stores.x.bucket'],
  ['a bad bucket name', { x: { ...s3, bucket: 'Bad_Bucket' } }, 'stores.x.bucket'],
  ['half a key pair', { x: { ...s3, access_key_id: 'a' } }, 'stores.x.secret_access_key'],
  ['a part under 5 MiB', { x: { ...s3, part_size: 1024 } }, 'stores.x.part_size'],
  ['too many parallel parts', { x: { ...s3, parallel_parts: 1000 } }, 'stores.x.parallel_parts'],
  ['an endpoint that is not http(s)', { x: { ...s3, endpoint: 'ftp://h' } }, 'stores.x.endpoint'],
  ['credentials inside a URL', { x: { ...s3, endpoint: 'http://user:pw@h' } }, 'stores.x.endpoint'],
  ['a bad prefix', { x: { ...s3, prefix: '../up' } }, 'stores.x.prefix'],
  ['a negative timeout', { x: { ...s3, timeout_ms: -1 } }, 'stores.x.timeout_ms'],
  ['too many retries', { x: { ...s3, retries: 99 } }, 'stores.x.retries'],
  ['a swift store without auth_url', { x: { ...swift, auth_url: undefined } }, 'stores.x.auth_url'],
  ['TempAuth without key', { x: { ...swift, key: undefined } }, 'stores.x.key'],
  ['Keystone without password', { x: { type: 'swift', auth_url: 'http://k/v3', user: 'u', project: 'p', container: 'c' } }, 'stores.x.password'],
  ['Keystone without project', { x: { type: 'swift', auth_url: 'http://k/v3', user: 'u', password: 'p', container: 'c' } }, 'stores.x.project'],
  ['auth version 2', { x: { ...swift, auth_version: 2 } }, 'stores.x.auth_version'],
  ['a swift store without container', { x: { ...swift, container: undefined } }, 'stores.x.container'],
  ['segments in the container itself', { x: { ...swift, segment_container: 'images' } }, 'stores.x.segment_container'],
  ['a bad endpoint interface', { x: { ...swift, interface: 'private' } }, 'stores.x.interface'],
  ['an http store without url', { x: { type: 'http' } }, 'stores.x.url'],
  ['an hdfs path that is not absolute', { x: { type: 'hdfs', url: 'http://n:9870', path: 'rel' } }, 'stores.x.path'],
  ['a non-boolean fsync', { x: { type: 'fs', fsync: 'maybe' } }, 'stores.x.fsync'],
  ['a bad value from the environment', { x: s3 }, 'stores.x.parallel_parts', { VISOR_STORE_X_PARALLEL_PARTS: 'many' }],
];
for (const [what, stores, field, extra] of refused) {
  test(`refused, naming the setting: ${what}`, (t) => {
    const error = t.throws(() => load(stores, extra), { instanceOf: VisorError });
    t.is(error?.problems[0]?.field, field, error?.message);
  });
}

test('the registry holds every store type; an unknown type is refused naming them; createStore puts the guard around the adapter', async (t) => {
  const { STORE_TYPES } = await import('../src/store/storeRegistry.ts');
  const { createStore } = await import('../src/store/createStore.ts');
  const { GuardedStore } = await import('../src/store/GuardedStore.ts');
  t.deepEqual(STORE_TYPES.map((d) => d.type), ['fs', 's3', 'swift', 'http', 'hdfs', 'memory']);
  const refused = t.throws(() => load({ x: { type: 'ftp' } }), { instanceOf: VisorError });
  t.is(refused?.message, 'stores.x.type: one of fs, s3, swift, http, hdfs, memory');
  const store = await createStore('ram', { type: 'memory', maxBytes: 1000 });
  t.true(store instanceof GuardedStore);
  t.is((await t.throwsAsync(store.stat('../escape'), { instanceOf: VisorError }))?.kind, 'invalid');
});

// The S3 SDK and the HTTP clients weigh tens of MB: reading the configuration and opening fs and
// memory stores must not load them. Checked in a fresh process, whose module loads are all seen.
test('configuring stores and opening fs and memory ones loads no remote adapter', async (t) => {
  const { execFile } = await import('node:child_process');
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
    const { loadConfig } = await import('./src/config/VisorConfig.ts');
    const { createStore } = await import('./src/store/createStore.ts');
    const c = loadConfig({ env: { HOME: '/tmp/visor-lazy' }, overrides: { stores: { s3: { type: 's3', bucket: 'images' }, web: { type: 'http', url: 'http://127.0.0.1:1/' }, ram: { type: 'memory' } } } });
    await createStore('fs', c.stores.fs);
    await createStore('ram', c.stores.ram);
    console.log(JSON.stringify(seen));`;
  const out = await new Promise<string>((resolve, reject) => execFile(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd() }, (e, stdout) => (e ? reject(e) : resolve(stdout))));
  const loaded = JSON.parse(out) as string[];
  t.true(loaded.some((u) => u.endsWith('/src/store/memory/MemoryStore.ts')), 'the memory adapter is loaded once opened');
  for (const heavy of ['@aws-sdk', '/node_modules/got/', '/src/store/s3/S3Store.ts', '/src/store/http/HttpStore.ts', '/src/store/remote/HttpExchange.ts']) {
    t.false(loaded.some((u) => u.includes(heavy)), heavy);
  }
});

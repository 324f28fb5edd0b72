import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { call } from './helpers/http.ts';
import { addUser, grant } from './helpers/accounts.ts';
import { createImage, putFile, sha256, unique } from './helpers/images.ts';
import { startStaticFileServer, type StaticFileServer } from './stores/http/staticFileServer.ts';
import { imageDir, isoImage, luksHeader, partitionedDisk, patched, qemuConvert, qemuCreate, qemuImg, qemuInfo, read, u32be, u64be, u64le, write } from './helpers/diskImages.ts';
import { visorAt } from './helpers/cli.ts';
import { pollUntil } from './helpers/polling.ts';

// Format inspection through the real daemon: every hostile file is refused with a 400 naming the
// rule, leaves its image in error and nothing in any store; every benign one becomes available with
// the virtual size qemu-img reads from it. Linked files are judged alike, copies keep the verdict,
// and older images are inspected on demand by their owner or an admin.

const MAX_VIRTUAL = 2 ** 30;
const dir = imageDir();
let d: TestDaemon;
let web: StaticFileServer;
let keys: { owner: string; stranger: string; grantee: string };
const granteeName = unique('gus');

test.before(async () => {
  qemuImg();
  web = await startStaticFileServer();
  d = await startTestDaemon({ config: { uploads: { max_virtual_size: MAX_VIRTUAL }, stores: { fs: { type: 'fs' }, fs2: { type: 'fs' }, web: { type: 'http', url: `${web.url}/files/` } } } });
  keys = { owner: await addUser(d, unique('olga')), stranger: await addUser(d, unique('sam')), grantee: await addUser(d, granteeName) };
});
test.after.always(async () => {
  await d?.stop();
  await web?.close();
});

/** The images qemu-img writes, and the files crafted around them, by name. */
function hostileFiles(): Array<{ name: string; disk: string; bytes: Buffer; rule: string }> {
  const qcow2 = read(qemuCreate(dir, 'base.qcow2', 'qcow2', '4M'));
  const backed = `${dir}/backed.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  const dataFile = `${dir}/data-file.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-o', `data_file=${dir}/data.raw`, dataFile, '1M'], { stdio: 'ignore' });
  const vmdk = read(qemuCreate(dir, 'base.vmdk', 'vmdk', '4M'));
  const descriptor = (type: string, extent: string) => `# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\ncreateType="${type}"\n\n${extent}\n`;
  const embedded = (text: string) => patched(patched(vmdk, 0x200, Buffer.alloc(20 * 512)), 0x200, Buffer.from(text));
  const stream = read(qemuConvert(dir, qemuCreate(dir, 'stream.raw', 'raw', '1M'), 'stream.vmdk', 'vmdk', ['subformat=streamOptimized']));
  const footed = Buffer.concat([patched(stream, 56, u64le(0xffffffffffffffffn)), patched(Buffer.alloc(512), 12, u32be(0x03000000)), patched(stream.subarray(0, 512), 28, u64le(9n)), Buffer.alloc(512)]);
  const badBoot = patched(partitionedDisk(1 << 20, 'mbr'), 446, Buffer.from([0x42]));
  const lonelyProtective = patched(partitionedDisk(1 << 20, 'gpt'), 512, Buffer.alloc(8));
  return [
    { name: 'qcow2 with a backing file /etc/passwd', disk: 'qcow2', bytes: read(backed), rule: 'qcow2-backing-file' },
    { name: 'qcow2 with an external data file', disk: 'qcow2', bytes: read(dataFile), rule: 'qcow2-data-file' },
    { name: 'qcow2 with unknown incompatible features', disk: 'qcow2', bytes: patched(qcow2, 72, u64be(1n << 20n)), rule: 'qcow2-unknown-features' },
    { name: 'qcow2 version 1', disk: 'qcow2', bytes: patched(qcow2, 4, u32be(1)), rule: 'qcow2-version' },
    { name: 'qcow2 truncated to 100 bytes', disk: 'qcow2', bytes: qcow2.subarray(0, 100), rule: 'truncated-header' },
    { name: 'qcow2 claiming 2^62 bytes', disk: 'qcow2', bytes: patched(qcow2, 24, u64be(2n ** 62n)), rule: 'virtual-size-cap' },
    { name: 'vmdk descriptor file with a flat extent /etc/passwd', disk: 'vmdk', bytes: Buffer.from(descriptor('monolithicFlat', 'RW 2048 FLAT "/etc/passwd" 0')), rule: 'vmdk-descriptor-file' },
    { name: 'vmdk with a sparse extent /etc/passwd', disk: 'vmdk', bytes: embedded(descriptor('monolithicSparse', 'RW 8192 SPARSE "/etc/passwd"')), rule: 'vmdk-extent-file' },
    { name: 'vmdk of create type monolithicFlat', disk: 'vmdk', bytes: embedded(descriptor('monolithicFlat', 'RW 8192 SPARSE "base.vmdk"')), rule: 'vmdk-create-type' },
    { name: 'stream-optimized vmdk whose footer names another descriptor', disk: 'vmdk', bytes: footed, rule: 'vmdk-footer' },
    { name: 'iso with a qcow2 header in its system area', disk: 'iso', bytes: isoImage(64, qcow2), rule: 'multiple-formats' },
    { name: 'qcow2 declared raw', disk: 'raw', bytes: qcow2, rule: 'format-mismatch' },
    { name: 'raw declared qcow2', disk: 'qcow2', bytes: Buffer.alloc(100_000, 1), rule: 'format-mismatch' },
    { name: 'LUKS2', disk: 'raw', bytes: luksHeader(2), rule: 'luks-version' },
    { name: 'QED', disk: 'raw', bytes: read(qemuCreate(dir, 'a.qed', 'qed', '1M')), rule: 'qed' },
    { name: 'MBR with a bad boot flag', disk: 'raw', bytes: badBoot, rule: 'mbr-boot-flag' },
    { name: 'protective MBR alone', disk: 'raw', bytes: lonelyProtective, rule: 'gpt-header' },
  ];
}

/** The files the daemon's stores hold for an image (its id in the name), left by a failed write too. */
async function storedFor(id: string): Promise<string[]> {
  const found: string[] = [];
  for (const root of [join(d.dataDir, 'images'), join(d.dataDir, 'stores')]) {
    const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isFile() && join(e.parentPath, e.name).includes(id)) found.push(join(e.parentPath, e.name));
  }
  return found;
}

const view = async (id: string, key = d.token) => (await call(d, key, 'GET', `/images/${id}`)).json as Record<string, unknown> & { inspection?: Record<string, unknown> };

test('every hostile file is refused with a 400 naming its rule; its image ends in error with the reason in its history, and no store keeps anything', async (t) => {
  const files = hostileFiles();
  t.is(files.length, 17);
  const ids = await Promise.all(files.map((f) => createImage(d, keys.owner, { name: unique('hostile'), disk: f.disk })));
  // One more whose refusal quotes a descriptor line naming another image: that image's history must
  // not take the line for its own when the failures are committed together.
  const vmdk = read(qemuCreate(dir, 'quoting.vmdk', 'vmdk', '4M'));
  files.push({ name: 'vmdk quoting another image', disk: 'vmdk', bytes: patched(vmdk, 0x200, Buffer.from(`# Disk DescriptorFile\nversion=1\nFailed upload of image ${ids[0]!} quoted\n`)), rule: 'vmdk-descriptor' });
  ids.push(await createImage(d, keys.owner, { name: unique('hostile'), disk: 'vmdk' }));
  // All at once: failures committed together share one commit, and each image's history still tells its own reason.
  await Promise.all(
    files.map(async (f, i) => {
      const id = ids[i]!;
      const res = await putFile(d, keys.owner, id, f.bytes);
      const body = (await res.json()) as { error: { code: string; message: string; problems: Array<{ field: string; rule: string }> } };
      t.is(res.status, 400, f.name);
      t.is(body.error.code, 'invalid', f.name);
      t.true(body.error.problems.some((p) => p.field === '(file)' && p.rule === f.rule), `${f.name}: ${body.error.message}`);
      t.true(body.error.message.includes(f.rule), f.name);
      const record = await view(id);
      t.is(record['status'], 'error', f.name);
      t.is(record['inspection'], undefined, f.name);
      t.deepEqual(await storedFor(id), [], f.name);
      const history = (await call(d, keys.owner, 'GET', `/images/${id}/history`)).json as { history: Array<{ message: string }> };
      t.regex(history.history[0]!.message, new RegExp(`^Upload of image ${id} failed: file refused by format inspection: ${f.rule}`), f.name);
    }),
  );
});

test('a file its header already refuses is refused as soon as the header has passed, not after the rest is stored', async (t) => {
  const backed = `${dir}/early.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  const head = read(backed);
  const id = await createImage(d, keys.owner, { name: unique('early'), disk: 'qcow2' });
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  // The header and a little more, then the rest only once the test has seen the refusal.
  const body = async function* () {
    yield Buffer.concat([head, Buffer.alloc((1 << 20) - head.length)]);
    await held;
    for (let i = 0; i < 16; i++) yield Buffer.alloc(1 << 20);
  };
  const answer = fetch(`${d.url}/images/${id}/file`, { method: 'PUT', body: ReadableStream.from(body()), duplex: 'half', headers: { authorization: `Bearer ${keys.owner}`, 'content-type': 'application/octet-stream' } } as RequestInit).then(
    async (r) => ({ status: r.status, text: await r.text() }),
    () => ({ status: 0, text: 'cut' }),
  );
  // Generous: on a loaded machine (a full run beside other work) the refusal took over 10 s to show.
  const settled = await pollUntil(() => view(id), (r) => r['status'] === 'error', { within: 30_000 });
  release();
  t.is(settled['status'], 'error', 'refused while the client still held the rest back');
  const res = await answer;
  if (res.status !== 0) {
    t.is(res.status, 400);
    t.regex(res.text, /qcow2-backing-file/);
  }
  t.deepEqual(await storedFor(id), []);
});

test('benign images of every format become available with the format and virtual size qemu-img reads; the publisher\'s virtual_size gives way to the header\'s', async (t) => {
  const source = qemuCreate(dir, 'benign.raw', 'raw', '2M');
  execFileSync('dd', ['if=/dev/urandom', `of=${source}`, 'bs=64k', 'count=3', 'conv=notrunc'], { stdio: 'ignore' });
  const cases: Array<{ disk: string; path: string; format: string }> = [
    { disk: 'qcow2', path: qemuCreate(dir, 'b.qcow2', 'qcow2', '6M'), format: 'qcow2' },
    { disk: 'qcow2', path: qemuConvert(dir, source, 'b-v2.qcow2', 'qcow2', ['compat=0.10']), format: 'qcow2' },
    { disk: 'vmdk', path: qemuCreate(dir, 'b.vmdk', 'vmdk', '6M'), format: 'vmdk' },
    { disk: 'vmdk', path: qemuConvert(dir, source, 'b-stream.vmdk', 'vmdk', ['subformat=streamOptimized']), format: 'vmdk' },
    { disk: 'vhd', path: qemuCreate(dir, 'b.vhd', 'vpc', '6M'), format: 'vhd' },
    { disk: 'vhdx', path: qemuCreate(dir, 'b.vhdx', 'vhdx', '6M'), format: 'vhdx' },
    { disk: 'vdi', path: qemuCreate(dir, 'b.vdi', 'vdi', '6M'), format: 'vdi' },
    { disk: 'raw', path: source, format: 'raw' },
    { disk: 'iso', path: write(dir, 'b.iso', isoImage(64, partitionedDisk(0x8000, 'mbr'))), format: 'iso' },
    { disk: 'raw', path: write(dir, 'b-gpt.raw', partitionedDisk(1 << 20, 'gpt')), format: 'gpt' },
  ];
  await Promise.all(
    cases.map(async (c) => {
      const info = qemuInfo(c.path);
      const id = await createImage(d, keys.owner, { name: unique('benign'), disk: c.disk, virtual_size: 1 });
      const res = await putFile(d, keys.owner, id, read(c.path));
      const body = (await res.json()) as Record<string, unknown> & { inspection: Record<string, unknown> };
      t.is(res.status, 200, `${c.path}: ${JSON.stringify(body)}`);
      t.is(body['status'], 'available');
      t.is(body['virtual_size'], info['virtual-size'], c.path);
      t.like(body.inspection, { format: c.format, virtual_size: info['virtual-size'], inspector: 'visor-inspect/1' }, c.path);
      if (c.format === 'qcow2') t.like(body.inspection, { cluster_size: info['cluster-size'], compat: info['format-specific']?.data?.compat });
      t.deepEqual(await view(id), body);
    }),
  );
});

test('a record whose disk or virtual_size contradicts its inspection is refused by the catalogue rules', async (t) => {
  const id = await createImage(d, keys.owner, { name: unique('rules'), disk: 'qcow2' });
  t.is((await putFile(d, keys.owner, id, read(qemuCreate(dir, 'rules.qcow2', 'qcow2', '3M')))).status, 200);
  const disk = await call(d, keys.owner, 'PUT', `/images/${id}`, { disk: 'raw' });
  t.is(disk.status, 400);
  t.true((disk.json as { error: { problems: Array<{ rule: string }> } }).error.problems.some((p) => p.rule === 'format-mismatch'), disk.text);
  const size = await call(d, keys.owner, 'PUT', `/images/${id}`, { virtual_size: 1 });
  t.is(size.status, 400);
  t.true((size.json as { error: { problems: Array<{ rule: string }> } }).error.problems.some((p) => p.rule === 'inspected-virtual-size'), size.text);
  t.is((await call(d, keys.owner, 'PUT', `/images/${id}`, { inspection: { format: 'raw' } })).status, 400, 'the inspection is the server\'s');
  t.like(await view(id), { disk: 'qcow2', virtual_size: 3 << 20, inspection: { format: 'qcow2' } });
});

test('a file registered by URL is inspected on the read that digests it: a hostile one leaves the image in error, a benign one is recorded; a copy keeps the verdict', async (t) => {
  const backed = `${dir}/linked-backed.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  await web.put('hostile.qcow2', read(backed));
  const hostile = await createImage(d, keys.owner, { name: unique('linked'), disk: 'qcow2' });
  const refused = await call(d, keys.owner, 'POST', `/images/${hostile}/locations`, { url: `${web.url}/files/hostile.qcow2` });
  t.is(refused.status, 400);
  t.regex(refused.text, /qcow2-backing-file/);
  t.like(await view(hostile), { status: 'error', locations: undefined });

  const vdi = read(qemuCreate(dir, 'linked.vdi', 'vdi', '5M'));
  await web.put('benign.vdi', vdi);
  const benign = await createImage(d, keys.owner, { name: unique('linked'), disk: 'vdi' });
  const linked = await call(d, keys.owner, 'POST', `/images/${benign}/locations`, { url: `${web.url}/files/benign.vdi`, checksum: sha256(vdi) });
  t.is(linked.status, 200, linked.text);
  const inspection = (linked.json as { inspection: Record<string, unknown> }).inspection;
  t.like(inspection, { format: 'vdi', virtual_size: 5 << 20 });
  const copied = await call(d, keys.owner, 'POST', `/images/${benign}/copy`, { to: 'fs2' });
  t.is(copied.status, 200, copied.text);
  t.deepEqual((copied.json as { inspection: unknown }).inspection, inspection);
});

/** An available image as one uploaded before format inspection: the file put in the store directly, the record without inspection. */
async function olderImage(bytes: Buffer, disk: string, access: 'public' | 'private' = 'private'): Promise<string> {
  const id = await createImage(d, keys.owner, { name: unique('older'), disk, access });
  const store = d.daemon.core.storeDirectory.stores.get('fs')!;
  const w = await store.write(id);
  w.stream.end(bytes);
  await finished(w.stream);
  await w.commit();
  const now = new Date().toISOString();
  const admin = { name: 'admin', admin: true } as Parameters<typeof d.daemon.core.ledger.change>[1];
  await d.daemon.core.ledger.change(id, admin, (r) => ({ ...r, status: 'available', size: bytes.length, checksum: sha256(bytes), uploaded_at: now, updated_at: now, locations: [{ store: 'fs', key: id }] }), `Older image ${id}`);
  return id;
}

test('visor inspect: the owner or an admin records the verdict on an older image; grantees, strangers and anonymous callers may not', async (t) => {
  const bytes = read(qemuCreate(dir, 'older.qcow2', 'qcow2', '7M'));
  const id = await olderImage(bytes, 'qcow2', 'public');
  await grant(d, keys.owner, id, 'users', granteeName, 'commit');
  t.is((await call(d, undefined, 'POST', `/images/${id}/inspect`)).status, 401);
  t.is((await call(d, keys.stranger, 'POST', `/images/${id}/inspect`)).status, 403);
  t.is((await call(d, keys.grantee, 'POST', `/images/${id}/inspect`)).status, 403);
  t.is((await view(id))['inspection'], undefined, 'refusals change nothing');
  const run = await visorAt(d).run(['inspect', id], { env: { VISOR_TOKEN: keys.owner } });
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, new RegExp(`${id}: qcow2, virtual size ${7 << 20} bytes, cluster size 65536, compat 1.1`));
  t.like(await view(id), { status: 'available', virtual_size: 7 << 20, inspection: { format: 'qcow2', virtual_size: 7 << 20 } });
  const show = await visorAt(d).run(['show', id], { env: { VISOR_TOKEN: keys.owner } });
  t.regex(show.stdout, /^inspection +qcow2, 7(\.0)? MiB virtual, cluster size 65536, compat 1\.1, inspected \S+ \(visor-inspect\/1\)$/m);
  t.is((await call(d, d.token, 'POST', `/images/${id}/inspect`)).status, 200, 'an admin may');

  const hidden = await olderImage(bytes, 'qcow2', 'private');
  t.is((await call(d, keys.stranger, 'POST', `/images/${hidden}/inspect`)).status, 404, 'a private image is not even there for a stranger');
});

test('an older hostile image inspected on demand is refused by name and taken out of service', async (t) => {
  const backed = `${dir}/older-backed.qcow2`;
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', backed, '1M'], { stdio: 'ignore' });
  const id = await olderImage(read(backed), 'qcow2');
  t.is((await call(d, keys.owner, 'GET', `/images/${id}/file`)).status, 200, 'served before the inspection');
  const res = await call(d, keys.owner, 'POST', `/images/${id}/inspect`);
  t.is(res.status, 400);
  t.regex(res.text, /qcow2-backing-file/);
  t.like(await view(id), { status: 'error' });
  t.not((await call(d, keys.owner, 'GET', `/images/${id}/file`)).status, 200, 'no longer served');
  t.is((await call(d, keys.owner, 'POST', `/images/${id}/inspect`)).status, 409, 'only an available image is inspected');
});

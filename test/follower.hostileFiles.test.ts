import test, { type ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { EICAR, testClamd } from './scanning/testClamd.ts';
import { imageDir, qemuImg, read } from './helpers/diskImages.ts';
import { gitAsync, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { call } from './helpers/http.ts';
import { sha256 } from './helpers/images.ts';

/**
 * A hostile upstream's file: its catalogue may say anything of it (a plain qcow2, an inspection, a
 * clean scan), and its file route serves exactly the bytes the record's digest names. A follower
 * inspects and scans what it fetches as it does an upload: the digest proves only that the upstream
 * meant those bytes.
 */

/** A hostile upstream: a catalogue (a plain repository) with one record, and a file route serving exactly the bytes its digest names. */
async function hostileUpstream(bytes: Buffer, disk: string): Promise<{ catalogue: string; url: string; id: string; served: () => number; close: () => void }> {
  const root = await tempDir();
  const catalogue = join(root, 'evil');
  await initCatalog(catalogue, 'public');
  const record = imageRecord({ name: 'innocent', origin: 'evil.example', disk, size: bytes.length, checksum: sha256(bytes) });
  await writeRecordFile(catalogue, record);
  await gitAsync(catalogue, 'add', '-A');
  await gitAsync(catalogue, 'commit', '-q', '-m', 'an innocent image');
  let served = 0;
  const files: Server = createServer((req, res) => {
    if (req.url !== `/images/${record.id}/file`) return void res.writeHead(404).end();
    served++;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) }).end(bytes);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const address = files.address();
  return { catalogue, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, id: record.id, served: () => served, close: () => files.close() };
}

/**
 * Downloads through the follower until a second fetch is seen (a try may join the one still failing,
 * and after a failure the next fetch waits out a backoff of 5 s, answered 429 meanwhile); every
 * answer must be a refusal naming `reason`.
 */
async function refusedTwice(t: ExecutionContext, d: TestDaemon, up: Awaited<ReturnType<typeof hostileUpstream>>, reason: RegExp): Promise<void> {
  for (let attempt = 0; attempt < 200 && up.served() < 2; attempt++) {
    const download = await call(d, undefined, 'GET', `/images/${up.id}/file`).catch(() => undefined);
    // Either refused before the first byte or cut: never the whole file.
    if (download) {
      t.not(download.status, 200, 'not a complete download');
      t.regex(download.text, reason);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.is(up.served(), 2, 'nothing was kept: the next try fetched again');
}

test('a followed file that format inspection refuses is never kept nor served whole, however its digest matches', async (t) => {
  const dir = imageDir();
  const path = join(dir, 'backed.qcow2');
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', path, '1M'], { stdio: 'ignore' });
  const up = await hostileUpstream(read(path), 'qcow2');
  const d = await startTestDaemon({ config: { upstreams: { evil: { url: up.catalogue, interval_seconds: 0, files: 'on_demand', files_url: up.url } } } });
  try {
    t.is((await call(d, d.token, 'POST', '/sync')).status, 200);
    await refusedTwice(t, d, up, /format inspection refuses .*qcow2-backing-file/);
  } finally {
    await d.stop();
    up.close();
  }
});

test('with scanning on, a followed file the malware scanner finds infected is never kept nor served whole, whatever the upstream says of it', async (t) => {
  const { socket, maxStreamBytes } = await testClamd();
  const up = await hostileUpstream(Buffer.concat([EICAR, Buffer.alloc(4096)]), 'raw');
  const d = await startTestDaemon({ config: { scanning: { mode: 'async', socket, max_stream_bytes: maxStreamBytes }, upstreams: { evil: { url: up.catalogue, interval_seconds: 0, files: 'on_demand', files_url: up.url } } } });
  try {
    t.is((await call(d, d.token, 'POST', '/sync')).status, 200);
    await refusedTwice(t, d, up, /malware scanner finds infected/);
  } finally {
    await d.stop();
    up.close();
  }
});

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { initCatalog } from '../src/catalog/CatalogRepo.ts';
import { startTestDaemon } from './helpers/daemon.ts';
import { imageDir, qemuImg, read } from './helpers/diskImages.ts';
import { gitAsync, imageRecord, tempDir, writeRecordFile } from './helpers/gitRepos.ts';
import { call } from './helpers/http.ts';
import { sha256 } from './helpers/images.ts';

/**
 * A hostile upstream: its catalogue says a file is a plain qcow2 (and could claim any inspection),
 * its file route serves exactly the bytes the record's digest names, and those bytes are a qcow2
 * whose backing file is /etc/passwd. A follower inspects what it fetches as it inspects an upload:
 * the digest proves only that the upstream meant those bytes.
 */
test('a followed file that format inspection refuses is never kept nor served whole, however its digest matches', async (t) => {
  const dir = imageDir();
  const path = join(dir, 'backed.qcow2');
  execFileSync(qemuImg(), ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', '/etc/passwd', path, '1M'], { stdio: 'ignore' });
  const bytes = read(path);
  const root = await tempDir();
  const catalogue = join(root, 'evil');
  await initCatalog(catalogue, 'public');
  const record = imageRecord({ name: 'innocent', origin: 'evil.example', disk: 'qcow2', size: bytes.length, checksum: sha256(bytes) });
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
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const d = await startTestDaemon({ config: { upstreams: { evil: { url: catalogue, interval_seconds: 0, files: 'on_demand', files_url: url } } } });
  try {
    const sync = await call(d, d.token, 'POST', '/sync');
    t.is(sync.status, 200, sync.text);
    // A try may join the fetch still failing from the try before: retry until a second fetch is seen.
    for (let attempt = 0; attempt < 20 && served < 2; attempt++) {
      const download = await call(d, undefined, 'GET', `/images/${record.id}/file`).catch(() => undefined);
      // Either refused before the first byte (the headers already break the rule) or cut: never the whole file.
      if (download) {
        t.not(download.status, 200, 'not a complete download');
        t.regex(download.text, /format inspection refuses .*qcow2-backing-file/);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    t.is(served, 2, 'nothing was kept: the next try fetched again');
  } finally {
    await d.stop();
    files.close();
  }
});

import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import type { AddressInfo } from 'node:net';

export interface StaticFileServer {
  url: string;
  /** Puts a file at files/<key>. */
  put(key: string, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback, as a mirror would be: /files/<path> with single ranges (206/416),
 * /moved/<path> answering 302 to /files/<path>, /norange/<path> ignoring Range like some servers do.
 */
export async function startStaticFileServer(): Promise<StaticFileServer> {
  const root = await mkdtemp(join(tmpdir(), 'visor-http-store-'));
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, 'http://x');
    const [, area, ...rest] = url.pathname.split('/');
    const path = normalize(join(root, decodeURIComponent(rest.join('/'))));
    if (area === 'moved') {
      res.writeHead(302, { location: `/files/${rest.join('/')}` }).end();
      return;
    }
    const s = path.startsWith(root) ? await stat(path).catch(() => undefined) : undefined;
    if ((area !== 'files' && area !== 'norange') || !s?.isFile()) {
      res.writeHead(url.pathname === '/files/' ? 403 : 404).end();
      return;
    }
    const m = area === 'files' ? /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '') : null;
    let start = 0;
    let end = s.size - 1;
    if (m) {
      start = m[1] === '' ? Math.max(0, s.size - Number(m[2])) : Number(m[1]);
      end = m[1] !== '' && m[2] !== '' ? Math.min(Number(m[2]), s.size - 1) : s.size - 1;
      if (start >= s.size) {
        res.writeHead(416, { 'content-range': `bytes */${s.size}` }).end();
        return;
      }
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${s.size}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
    } else {
      res.writeHead(200, { 'content-length': s.size, 'last-modified': s.mtime.toUTCString() });
    }
    if (req.method === 'HEAD' || s.size === 0) res.end();
    else createReadStream(path, { start, end }).pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async put(key, data) {
      const path = join(root, key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    },
    async close() {
      server.closeAllConnections();
      server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

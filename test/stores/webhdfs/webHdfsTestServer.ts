import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';

export interface WebHdfsTestServer {
  /** The namenode's address, as a store is configured with. */
  url: string;
  user: string;
  delegationToken: string;
  /** Requests seen, "<server> <METHOD> <op>", to check the protocol was followed. */
  log: string[];
  close(): Promise<void>;
}

/**
 * No HDFS can run on the test machines, so this follows the WebHDFS REST specification closely enough
 * to test the adapter: a namenode that answers CREATE and OPEN with 307 redirects to a separate
 * datanode server, GETFILESTATUS, LISTSTATUS, MKDIRS, RENAME and DELETE with their JSON answers and
 * RemoteException errors, simple authentication (user.name) and delegation tokens.
 */
export async function startWebHdfsTestServer(): Promise<WebHdfsTestServer> {
  const root = await mkdtemp(join(tmpdir(), 'visor-webhdfs-'));
  const user = 'visor';
  const delegationToken = 'HAAEdmlzb3IEdmlzb3IAigGTestToken';
  const log: string[] = [];
  let datanodeUrl = '';

  const fail = (res: ServerResponse, status: number, exception: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ RemoteException: { exception, javaClassName: `org.apache.hadoop.${exception}`, message } }));
  };
  const json = (res: ServerResponse, body: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const local = (hdfsPath: string) => {
    const p = normalize(join(root, hdfsPath));
    return p.startsWith(root) ? p : undefined;
  };
  const fileStatus = async (path: string, suffix: string) => {
    const s = await stat(path);
    return { pathSuffix: suffix, type: s.isDirectory() ? 'DIRECTORY' : 'FILE', length: s.isDirectory() ? 0 : s.size, modificationTime: s.mtimeMs | 0, accessTime: s.atimeMs | 0, owner: user, group: 'supergroup', permission: '644', replication: 1, blockSize: 134217728 };
  };
  /** Checks the request's credentials; answers and returns false when they are wrong. */
  const authorised = (q: URLSearchParams, res: ServerResponse) => {
    if (q.has('delegation')) {
      if (q.get('delegation') === delegationToken) return true;
      fail(res, 401, 'security.token.SecretManager$InvalidToken', 'token is expired or doesn\'t exist');
      return false;
    }
    if (q.get('user.name') === user) return true;
    fail(res, 403, 'security.AccessControlException', `Permission denied: user=${q.get('user.name') ?? 'dr.who'}, access=WRITE`);
    return false;
  };

  const namenode = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://namenode');
    const q = url.searchParams;
    const op = (q.get('op') ?? '').toUpperCase();
    log.push(`namenode ${req.method} ${op}`);
    if (!url.pathname.startsWith('/webhdfs/v1/')) return fail(res, 404, 'IllegalArgumentException', 'not a webhdfs path');
    if (!authorised(q, res)) return;
    const hdfsPath = decodeURIComponent(url.pathname.slice('/webhdfs/v1'.length));
    const path = local(hdfsPath);
    if (!path) return fail(res, 400, 'IllegalArgumentException', 'bad path');
    const exists = await stat(path).then(() => true, () => false);
    req.resume();
    switch (`${req.method} ${op}`) {
      case 'PUT CREATE':
      case 'GET OPEN': {
        if (op === 'OPEN' && !exists) return fail(res, 404, 'FileNotFoundException', `File does not exist: ${hdfsPath}`);
        if (op === 'CREATE' && exists && q.get('overwrite') !== 'true') return fail(res, 403, 'FileAlreadyExistsException', `${hdfsPath} already exists`);
        res.writeHead(307, { location: `${datanodeUrl}${url.pathname}${url.search}`, 'content-length': 0 }).end();
        return;
      }
      case 'GET GETFILESTATUS':
        if (!exists) return fail(res, 404, 'FileNotFoundException', `File does not exist: ${hdfsPath}`);
        return json(res, { FileStatus: await fileStatus(path, '') });
      case 'GET LISTSTATUS': {
        if (!exists) return fail(res, 404, 'FileNotFoundException', `File ${hdfsPath} does not exist.`);
        const names = (await stat(path)).isDirectory() ? (await readdir(path)).sort() : [''];
        // Entries renamed or deleted meanwhile are left out, as a namenode's snapshot of the folder would.
        const statuses = await Promise.all(names.map((n) => fileStatus(join(path, n), n).catch(() => undefined)));
        return json(res, { FileStatuses: { FileStatus: statuses.filter(Boolean) } });
      }
      case 'PUT MKDIRS':
        await mkdir(path, { recursive: true });
        return json(res, { boolean: true });
      case 'PUT RENAME': {
        const target = local(q.get('destination') ?? '');
        const parentOk = target !== undefined && (await stat(dirname(target)).then((s) => s.isDirectory(), () => false));
        // HDFS renames only onto a missing name in an existing folder; otherwise the answer is false.
        if (!exists || !target || !parentOk || (await stat(target).then(() => true, () => false))) return json(res, { boolean: false });
        await rename(path, target);
        return json(res, { boolean: true });
      }
      case 'DELETE DELETE':
        if (!exists) return json(res, { boolean: false });
        await rm(path, { recursive: q.get('recursive') === 'true' });
        return json(res, { boolean: true });
      default:
        return fail(res, 400, 'IllegalArgumentException', `Invalid value for webhdfs parameter "op": ${op}`);
    }
  });

  const datanode = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url!, 'http://datanode');
    const q = url.searchParams;
    const op = (q.get('op') ?? '').toUpperCase();
    log.push(`datanode ${req.method} ${op}`);
    if (!authorised(q, res)) return;
    const hdfsPath = decodeURIComponent(url.pathname.slice('/webhdfs/v1'.length));
    const path = local(hdfsPath)!;
    if (req.method === 'PUT' && op === 'CREATE') {
      await mkdir(dirname(path), { recursive: true });
      try {
        await pipeline(req, createWriteStream(path));
      } catch {
        // A cut-off upload leaves its partial file, as a datanode's under-construction file would.
        return;
      }
      res.writeHead(201, { location: `hdfs://namenode${hdfsPath}`, 'content-length': 0 }).end();
      return;
    }
    if (req.method === 'GET' && op === 'OPEN') {
      const s = await stat(path).catch(() => undefined);
      if (!s) return fail(res, 404, 'FileNotFoundException', `File does not exist: ${hdfsPath}`);
      const offset = Number(q.get('offset') ?? 0);
      if (offset > s.size) return fail(res, 400, 'IOException', `Offset=${offset} out of the range [0, ${s.size})`);
      const length = q.has('length') ? Number(q.get('length')) : s.size - offset;
      const end = Math.min(s.size, offset + length) - 1;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Math.max(0, end - offset + 1) });
      if (end < offset) return res.end();
      createReadStream(path, { start: offset, end }).pipe(res);
      return;
    }
    fail(res, 400, 'IllegalArgumentException', `op ${op} is not a datanode operation`);
  });

  for (const s of [namenode, datanode] as Server[]) {
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
  }
  datanodeUrl = `http://127.0.0.1:${(datanode.address() as AddressInfo).port}`;
  return {
    url: `http://127.0.0.1:${(namenode.address() as AddressInfo).port}`,
    user,
    delegationToken,
    log,
    async close() {
      for (const s of [namenode, datanode]) {
        s.closeAllConnections();
        s.close();
      }
      await rm(root, { recursive: true, force: true });
    },
  };
}

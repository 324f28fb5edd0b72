/**
 * The upload ceiling: what plain node:http does with an upload on this machine that day, doing the
 * work a durable upload needs and nothing else — the body streamed through sha256 into a file,
 * fdatasync'd before the answer. On two cores the client, the receive, the hash and the write share
 * the machine, so neither openssl nor dd alone says what an upload can reach; this does. The daemon's
 * upload is read against it (same file, same curl command, same folder as the daemon's fs store).
 *
 *   node test/bench/bareReceiver.ts PORT DIR
 *
 * PUT /<anything>: the body goes to DIR/bare-upload-<n>, answered 201 {"sha256": "...", "bytes": N}
 * once the file is on disk; the file is removed after the answer (a 2 GiB file per run would fill
 * the folder). Prints "listening" when ready.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

const port = Number(process.argv[2]);
const dir = process.argv[3];
if (!Number.isInteger(port) || !dir) {
  process.stderr.write('usage: bareReceiver.ts PORT DIR\n');
  process.exit(2);
}

let uploads = 0;
const server = createServer((req, res) => {
  if (req.method !== 'PUT') {
    res.writeHead(405).end();
    return;
  }
  const path = join(dir, `bare-upload-${++uploads}`);
  void receive(req, path).then(
    ({ sha256, bytes }) => {
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ sha256, bytes }));
      return unlink(path);
    },
    (error: Error) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      return unlink(path).catch(() => undefined);
    },
  );
});
// Uploads of a few GiB take longer than node's default request timeout.
server.requestTimeout = 0;
server.listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));

async function receive(body: AsyncIterable<Buffer>, path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  await pipeline(
    body,
    async function* (chunks: AsyncIterable<Buffer>) {
      for await (const chunk of chunks) {
        hash.update(chunk);
        bytes += chunk.length;
        yield chunk;
      }
    },
    createWriteStream(path, { flags: 'wx' }),
  );
  // Reopened for the sync: a stream kept open on a FileHandle never lets that handle close.
  const file = await open(path, 'r');
  try {
    await file.datasync();
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}

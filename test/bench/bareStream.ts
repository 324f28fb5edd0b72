/**
 * The download ceiling for node: plain node:http sending a file with createReadStream piped to the
 * response, on the same Node, from the same file, to the same curl command as the daemon's download.
 * nginx (sendfile, no copy through user space) is shown beside it as context; this is what a
 * streaming Node server can reach that day.
 *
 *   node test/bench/bareStream.ts PORT FILE [READ_BYTES]
 *
 * GET /<anything>: FILE, 200 with its length, read in READ_BYTES chunks (default: createReadStream's
 * 64 KiB; the daemon's fs store reads 1 MiB, and on this machine the chunk size alone changes the
 * rate a lot, so the benchmark runs both). Prints "listening" when ready.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';

const port = Number(process.argv[2]);
const file = process.argv[3];
const readBytes = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
if (!Number.isInteger(port) || !file || (readBytes !== undefined && !(Number.isInteger(readBytes) && readBytes > 0))) {
  process.stderr.write('usage: bareStream.ts PORT FILE [READ_BYTES]\n');
  process.exit(2);
}

createServer((req, res) => {
  if (req.method !== 'GET') {
    res.writeHead(405).end();
    return;
  }
  void stat(file)
    .then(({ size }) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
      return pipeline(createReadStream(file, readBytes === undefined ? {} : { highWaterMark: readBytes }), res);
    })
    .catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      else res.destroy(error);
    });
}).listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));

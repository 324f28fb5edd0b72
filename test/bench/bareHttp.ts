/**
 * The reads baseline: node:http answering a fixed 100-byte body, on the same Node and under the same
 * wrk load as the daemon. Read figures only mean something beside what this machine gives at all
 * that day (the same code measured ~41,000 req/s one day and ~18,000–26,000 another).
 *
 *   node test/bench/bareHttp.ts PORT
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const body = Buffer.alloc(100, 'x');
createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
}).listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));

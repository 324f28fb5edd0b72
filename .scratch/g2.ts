import { createServer, request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
const server = createServer(async (req, res) => {
  let n = 0; for await (const c of req) n += c.length;
  res.writeHead(201); res.end(`got ${n}`);
}).listen(0, '127.0.0.1');
await new Promise(r => server.once('listening', r));
const port = (server.address() as any).port;
const t = performance.now();
const big = Buffer.alloc(1 << 20);
const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/x' });
const answer = new Promise<number>((resolve) => req.once('response', (res) => { res.resume(); resolve(res.statusCode!); }));
await pipeline(Readable.from((function* () { for (let i = 0; i < 1024; i++) yield big; })()), req);
console.log(await answer, Math.round(performance.now() - t), 'ms for 1 GiB (node:http)');
server.close();

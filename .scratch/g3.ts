import got from 'got';
import { createServer, request } from 'node:http';
const big = Buffer.alloc(1 << 20);
const server = createServer(async (req, res) => {
  res.writeHead(200, { 'content-length': String(1 << 30) });
  for (let i = 0; i < 1024; i++) if (!res.write(big)) await new Promise(r => res.once('drain', r));
  res.end();
}).listen(0, '127.0.0.1');
await new Promise(r => server.once('listening', r));
const url = `http://127.0.0.1:${(server.address() as any).port}/x`;
let t = performance.now(); let n = 0;
for await (const c of got.stream(url, { decompress: false, retry: { limit: 0 } })) n += c.length;
console.log('got', n, Math.round(performance.now() - t));
t = performance.now(); n = 0;
const res = await new Promise<any>((resolve) => request(url, resolve).end());
for await (const c of res) n += c.length;
console.log('http', n, Math.round(performance.now() - t));
server.close();

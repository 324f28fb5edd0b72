import got from 'got';
import { createServer } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
const server = createServer(async (req, res) => {
  let n = 0; for await (const c of req) n += c.length;
  res.writeHead(req.method === 'PUT' ? 201 : 404, { 'content-type': 'text/plain' }); res.end(`got ${n} ${req.headers['transfer-encoding']} ${req.headers['content-length']}`);
}).listen(0, '127.0.0.1');
await new Promise(r => server.once('listening', r));
const url = `http://127.0.0.1:${(server.address() as any).port}/x`;
const req = got.stream.put(url, { throwHttpErrors: false, retry: { limit: 0 }, decompress: false });
const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
  req.once('response', async (res) => { const parts: Buffer[] = []; for await (const c of req) parts.push(c); resolve({ status: res.statusCode, body: Buffer.concat(parts).toString() }); });
  req.once('error', reject);
});
const t = performance.now();
const big = Buffer.alloc(1 << 20);
await pipeline(Readable.from((function* () { for (let i = 0; i < 1024; i++) yield big; })()), req);
console.log(await answer, Math.round(performance.now() - t), 'ms for 1 GiB');
const r404 = got.stream(url, { throwHttpErrors: false, retry: { limit: 0 } });
r404.once('response', (res) => console.log('status', res.statusCode));
let s = ''; for await (const c of r404) s += c; console.log(s);
server.close();

/**
 * How fast a streamed response body arrives through got and through node:http, same server, same
 * run: the figures behind the choice of client for image bodies (src/store/remote/HttpExchange.ts).
 * Run: node test/stores/http/streamedBodyBench.ts [MiB] [rounds]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { createServer, Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import got from 'got';

const MiB = 1 << 20;
const size = Number(process.argv[2] ?? 256) * MiB;
const rounds = Number(process.argv[3] ?? 3);
const chunk = Buffer.alloc(MiB, 7);

// The server runs in a child process, so it does not share the client's event loop.
if (process.argv[4] === 'serve') serve();

function serve(): void {
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-length': size });
  let sent = 0;
  const more = (): void => {
    while (sent < size) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  more();
});
server.listen(0, '127.0.0.1', () => process.send!((server.address() as AddressInfo).port));
}

const child = process.argv[4] === 'serve' ? undefined : fork(process.argv[1]!, [String(size / MiB), String(rounds), 'serve']);
const [port] = child ? ((await once(child, 'message')) as [number]) : [0];
const url = `http://127.0.0.1:${port}/image`;

async function drain(body: AsyncIterable<Buffer>): Promise<number> {
  let n = 0;
  for await (const c of body) n += c.length;
  return n;
}

const agent = new Agent({ keepAlive: true });
const client = got.extend({ throwHttpErrors: false, decompress: false, retry: { limit: 0 }, agent: { http: agent } });
const clients: Record<string, () => Promise<number>> = {
  got: () => drain(client.stream(url)),
  'node:http': () =>
    new Promise((resolve, reject) => {
      const req = request(url, { agent }, (res) => drain(res).then(resolve, reject));
      req.on('error', reject).end();
    }),
};

const figures: Record<string, { rate: number[]; cpu: number[] }> = { got: { rate: [], cpu: [] }, 'node:http': { rate: [], cpu: [] } };
for (let round = 0; child && round < rounds; round++) {
  // Alternating which goes first, so warm-up and the machine's other load favour neither.
  const order = Object.entries(clients);
  if (round % 2 === 1) order.reverse();
  for (const [name, fetchOnce] of order) {
    const start = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    const bytes = await fetchOnce();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const used = process.cpuUsage(cpu);
    if (bytes !== size) throw new Error(`${name}: ${bytes} bytes, expected ${size}`);
    // CPU time per GiB is the steadier figure on a shared machine; MiB/s moves with the other load.
    const cpuMsPerGiB = ((used.user + used.system) / 1000) * ((1024 * MiB) / size);
    figures[name]!.rate.push(size / MiB / seconds);
    figures[name]!.cpu.push(cpuMsPerGiB);
    console.log(`${name.padEnd(10)} ${(size / MiB / seconds).toFixed(0).padStart(5)} MiB/s  ${cpuMsPerGiB.toFixed(0).padStart(5)} ms CPU per GiB (client)`);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
for (const [name, f] of Object.entries(figures)) if (f.rate.length) console.log(`median ${name.padEnd(10)} ${median(f.rate).toFixed(0).padStart(5)} MiB/s  ${median(f.cpu).toFixed(0).padStart(5)} ms CPU per GiB`);
agent.destroy();
child?.kill();

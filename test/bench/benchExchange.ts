/** What the transfer benchmarks share: one HTTP exchange with a JSON or file body, a numeric option, a median. */
import { createReadStream } from 'node:fs';
import { request } from 'node:http';

/** One exchange: a JSON or file body; the answer read whole, or only counted (downloads). */
export function exchange(url: string, o: { method?: string; headers?: Record<string, string>; json?: unknown; file?: string; count?: boolean }): Promise<{ status: number; text: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.json !== undefined) headers['content-type'] = 'application/json';
    if (o.file) headers['content-type'] = 'application/octet-stream';
    const req = request(url, { method: o.method ?? 'GET', headers }, (res) => {
      let bytes = 0;
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (!o.count) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode!, text: Buffer.concat(chunks).toString(), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (o.file) createReadStream(o.file, { highWaterMark: 1 << 20 }).pipe(req);
    else req.end(o.json === undefined ? undefined : JSON.stringify(o.json));
  });
}

/** `--name N` from the command line: a positive integer, or the fallback. */
export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const n = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} needs a positive integer`);
  return n;
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * What the web catalogue's pages cost at scale, beside the API's JSON answer to the same query:
 *
 *   node test/bench/webPages.ts [N (100000)] [ROUNDS (20)]
 *
 * Generates a catalogue of N images (generateCatalog.ts), starts a daemon on it, and times each page
 * (median and 95th percentile of ROUNDS sequential requests after one warm-up) as a browser asks for
 * it, and GET /images with the same query. Prints one line per page.
 *
 * 2026-12-06, 100,000 images, on this 2-core machine under a load of ~15 (others' tests), medians:
 * browse 29 ms (API 8), page 2 15 ms (3), filter + sort by name 2 ms (4), a search matching many
 * 3 ms (2), a search matching few 194 ms (API 160: it walks every name), an image page 235 ms (its
 * history, git log of the record, is nearly all of it; GET /images/:id 1 ms), the latest of each
 * series 195 ms (575 ms before it became one pass).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDaemon } from '../helpers/daemon.ts';

const n = Number(process.argv[2] ?? 100_000);
const rounds = Number(process.argv[3] ?? 20);
const dataDir = await mkdtemp(join(tmpdir(), 'visor-web-bench-'));
try {
  const started = performance.now();
  execFileSync(process.execPath, [join(import.meta.dirname, 'generateCatalog.ts'), join(dataDir, 'catalog'), String(n), '--public'], { stdio: ['ignore', 'ignore', 'inherit'] });
  process.stdout.write(`generated ${n} images in ${Math.round(performance.now() - started)} ms\n`);
  const d = await startTestDaemon({ dataDir });
  try {
    const time = async (path: string, accept: string): Promise<string> => {
      const once = async () => {
        const t0 = performance.now();
        const res = await fetch(`${d.url}${path}`, { headers: { accept } });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
        return performance.now() - t0;
      };
      await once();
      const ms: number[] = [];
      for (let i = 0; i < rounds; i++) ms.push(await once());
      ms.sort((a, b) => a - b);
      return `median ${ms[Math.floor(ms.length / 2)]!.toFixed(1)} ms, p95 ${ms[Math.ceil(ms.length * 0.95) - 1]!.toFixed(1)} ms`;
    };
    const first = (await (await fetch(`${d.url}/images?limit=50`)).json()) as { images: { id: string }[]; next: string };
    const marker = first.images.at(-1)!.id;
    const cases: [string, string][] = [
      ['browse, newest first', 'limit=50'],
      ['browse, page 2 (marker)', `limit=50&marker=${marker}`],
      ['filter disk=qcow2, sort by name', 'limit=50&disk=qcow2&sort=name&dir=asc'],
      ['search q matching few', 'limit=50&q=zzzz-no-such-name'],
      ['search q matching many', 'limit=50&q=ubuntu'],
    ];
    for (const [label, q] of cases) {
      process.stdout.write(`${label}: page ${await time(`/ui/?${q}`, 'text/html')}; API ${await time(`/images?${q}`, 'application/json')}\n`);
    }
    process.stdout.write(`image page: ${await time(`/ui/images/${marker}`, 'text/html')}; API ${await time(`/images/${marker}`, 'application/json')}\n`);
    process.stdout.write(`latest of each series: ${await time('/ui/series', 'text/html')}\n`);
  } finally {
    await d.stop();
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}

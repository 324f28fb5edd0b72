/**
 * What following an upstream only_endorsed costs a sync (issue 15): an upstream catalogue of N images
 * (a tenth endorsed), followed by two daemons, one with only_endorsed and one without; then, R times,
 * 10 changes upstream (10 new images, each endorsed) synced by both, timed as POST /sync answers.
 *
 *   node test/bench/onlyEndorsedCost.ts [--images 10000] [--rounds 3]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../../src/api/ImageRecord.ts';
import { initCatalog } from '../../src/catalog/CatalogRepo.ts';
import { recordPath } from '../../src/catalog/CatalogLayout.ts';
import { endorse, serializeStatementFile } from '../../src/trust/Endorsing.ts';
import { parsePrivateKeyFile } from '../../src/trust/SshKeys.ts';
import { statementPath } from '../../src/trust/StatementFile.ts';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { imageRecord } from '../helpers/gitRepos.ts';
import { makeKey } from '../helpers/sshKeys.ts';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const n = arg('--images', 10_000);
const rounds = arg('--rounds', 3);
const scratch = mkdtempSync(join(tmpdir(), 'visor-only-endorsed-bench-'));
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' } });
const daemons: TestDaemon[] = [];
try {
  const upstream = join(scratch, 'upstream');
  await initCatalog(upstream, 'public');
  const key = makeKey(scratch, 'alice');
  const alice = parsePrivateKeyFile(readFileSync(key.file, 'utf8'));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(upstream, path)), { recursive: true });
    writeFileSync(join(upstream, path), text);
  };
  const image = (endorsed: boolean) => {
    const r = imageRecord({ origin: 'site-a', uploaded_at: new Date(Date.now() - 60_000).toISOString() }) as unknown as ImageRecord;
    write(recordPath(r.id), `${JSON.stringify(r, null, 2)}\n`);
    if (endorsed) {
      const f = endorse(r, alice, 'alice@site-a', { now: new Date(Date.now() - 30_000) });
      write(statementPath(f), serializeStatementFile(f));
    }
  };
  write('trust/endorsers.json', JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [key.publicLine] }] }, null, 2));
  for (let i = 0; i < n; i++) image(i % 10 === 0);
  git(upstream, 'add', '-A');
  git(upstream, 'commit', '-q', '--no-verify', '-m', 'records');
  console.log(`${n} images upstream, ${n / 10} endorsed; ${rounds} rounds of 10 changes (10 new endorsed images), ${new Date().toISOString()}`);

  const sync = async (d: TestDaemon): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${d.url}/sync`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } });
    const body = (await res.json()) as { results: Array<{ mode: string }> };
    if (res.status !== 200 || body.results[0]?.mode === 'refused') throw new Error(`sync failed: ${JSON.stringify(body).slice(0, 500)}`);
    return performance.now() - started;
  };
  const settings = [false, true];
  for (const only of settings) daemons.push(await startTestDaemon({ config: { log: { level: process.env['BENCH_LOG'] ?? 'silent' }, upstreams: { up: { url: upstream, interval_seconds: 0, only_endorsed: only } } } }));
  for (const [i, d] of daemons.entries()) console.log(`${`first sync (adoption), only_endorsed ${settings[i]}`.padEnd(48)} ${((await sync(d)) / 1000).toFixed(2)} s`);
  const times: number[][] = [[], []];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < 10; i++) image(true);
    git(upstream, 'add', '-A');
    git(upstream, 'commit', '-q', '--no-verify', '-m', `round ${round}`);
    // Alternate which goes first: the second may find git's caches warm.
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const i of order) times[i]!.push(await sync(daemons[i]!));
  }
  for (const [i, t] of times.entries()) console.log(`${`10 changes, only_endorsed ${settings[i]}`.padEnd(48)} ${t.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
} finally {
  for (const d of daemons) await d.stop().catch(() => undefined);
  rmSync(scratch, { recursive: true, force: true });
}

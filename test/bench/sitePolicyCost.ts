/**
 * What the daemon's trust policy costs a list (issue 15): N images, a tenth of them endorsed (one
 * statement each) and a tenth built on another. A list filters every record through the access
 * rules, which ask SiteTrust for each: measured cold (every judgement read from the working tree),
 * warm (cached) and after a tenth of the records changed, beside the same pass with no policy.
 *
 *   node test/bench/sitePolicyCost.ts [--images 100000]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../../src/api/ImageRecord.ts';
import { endorse, serializeStatementFile } from '../../src/trust/Endorsing.ts';
import { parsePrivateKeyFile } from '../../src/trust/SshKeys.ts';
import { statementPath } from '../../src/trust/StatementFile.ts';
import { SiteTrust } from '../../src/trust/SiteTrust.ts';
import { DEFAULT_POLICY } from '../../src/trust/TrustPolicy.ts';
import { imageRecord } from '../helpers/gitRepos.ts';
import { makeKey } from '../helpers/sshKeys.ts';
import { readFileSync } from 'node:fs';

const at = process.argv.indexOf('--images');
const n = at > 0 ? Number(process.argv[at + 1]) : 100_000;
const scratch = mkdtempSync(join(tmpdir(), 'visor-site-policy-bench-'));
try {
  const catalog = join(scratch, 'catalog');
  const key = makeKey(scratch, 'alice');
  const alice = parsePrivateKeyFile(readFileSync(key.file, 'utf8'));
  mkdirSync(join(catalog, 'trust'), { recursive: true });
  writeFileSync(join(catalog, 'trust/endorsers.json'), JSON.stringify({ endorsers: [{ identity: 'alice@site-a', keys: [key.publicLine] }] }));
  const records = new Map<string, ImageRecord>();
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = imageRecord({ built_from: i % 10 === 5 ? ids[i - 1] : undefined }) as unknown as ImageRecord;
    if (r.built_from === undefined) delete r.built_from;
    records.set(r.id, r);
    ids.push(r.id);
  }
  let started = performance.now();
  for (let i = 0; i < n; i += 10) {
    const file = endorse(records.get(ids[i]!)!, alice, 'alice@site-a', { now: new Date(Date.now() - 60_000) });
    const path = join(catalog, statementPath(file));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, serializeStatementFile(file));
  }
  console.log(`${n} images, ${n / 10} endorsed, ${n / 10} built on another; statements written in ${((performance.now() - started) / 1000).toFixed(2)} s`);
  const trust = (policy: typeof DEFAULT_POLICY | undefined) => new SiteTrust({ policy, statementDirs: [catalog, join(scratch, 'private')], trustDir: catalog, record: (id) => records.get(id) });
  const pass = (what: string, t: SiteTrust) => {
    started = performance.now();
    let offered = 0;
    for (const id of ids) if ((t.treatment(id) ?? 'downloadable') === 'downloadable') offered++;
    console.log(`${what.padEnd(46)} ${(performance.now() - started).toFixed(0).padStart(6)} ms (${offered} downloadable)`);
  };
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  pass('no policy', trust(undefined));
  const withPolicy = trust(DEFAULT_POLICY);
  pass('policy, cold (every judgement read)', withPolicy);
  pass('policy, warm (cached)', withPolicy);
  globalThis.gc?.();
  console.log(`${'heap: records alone, then every judgement cached'.padEnd(46)} ${(before / 2 ** 20).toFixed(0).padStart(6)} MiB, ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB (run with --expose-gc)`);
  // A new version of every tenth record (as a write or a sync makes): those and what is built on them are judged again.
  for (let i = 0; i < n; i += 10) records.set(ids[i]!, { ...records.get(ids[i]!)!, description: 'changed' });
  pass('policy, after 10% of the records changed', withPolicy);
  records.set(ids[0]!, { ...records.get(ids[0]!)!, description: 'changed again' });
  pass('policy, after one record changed', withPolicy);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

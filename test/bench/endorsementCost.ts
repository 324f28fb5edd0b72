/**
 * What endorsements cost (issue 15): N images with one endorsement each, by two endorsers. Measures
 * signing in-process, then as a user runs them: `visor catalog validate` of the whole catalogue
 * without and with the endorsements (every signature checked), `catalog validate --base` of the
 * change that adds them all (what a pull request's CI, a push's hook or a sync pays) beside that of
 * the change that added the records, and `visor verify ID --catalog` of one image.
 *
 *   node test/bench/endorsementCost.ts [--images 10000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { initCatalog } from '../../src/catalog/CatalogRepo.ts';
import { recordPath } from '../../src/catalog/CatalogLayout.ts';
import type { ImageRecord } from '../../src/api/ImageRecord.ts';
import { endorse, serializeStatementFile } from '../../src/trust/Endorsing.ts';
import { parsePrivateKeyFile } from '../../src/trust/SshKeys.ts';
import { statementPath } from '../../src/trust/StatementFile.ts';
import { imageRecord } from '../helpers/gitRepos.ts';
import { makeKey } from '../helpers/sshKeys.ts';

const at = process.argv.indexOf('--images');
const n = at > 0 ? Number(process.argv[at + 1]) : 10_000;
const visor = resolve(import.meta.dirname, '../../src/cli/visor.ts');
const scratch = mkdtempSync(join(tmpdir(), 'visor-endorsement-bench-'));
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' } });
const timed = (what: string, args: string[], okCodes = [0]) => {
  const started = performance.now();
  try {
    execFileSync(process.execPath, [visor, ...args], { stdio: 'pipe' });
  } catch (error) {
    if (!okCodes.includes((error as { status: number }).status)) throw error;
  }
  const ms = performance.now() - started;
  console.log(`${what.padEnd(58)} ${(ms / 1000).toFixed(2)} s`);
  return ms;
};

try {
  const dir = join(scratch, 'catalogue');
  await initCatalog(dir, 'public');
  const records = Array.from({ length: n }, () => imageRecord({ origin: 'site-a', uploaded_at: new Date(Date.now() - 60_000).toISOString(), inspection: { format: 'raw', virtual_size: 512, inspected_at: new Date().toISOString(), inspector: 'bench' } }) as unknown as ImageRecord);
  for (const r of records) {
    mkdirSync(dirname(join(dir, recordPath(r.id))), { recursive: true });
    writeFileSync(join(dir, recordPath(r.id)), `${JSON.stringify(r, null, 2)}\n`);
  }
  const keys = ['alice', 'bob'].map((name) => ({ name, test: makeKey(scratch, name) }));
  mkdirSync(join(dir, 'trust'));
  writeFileSync(join(dir, 'trust/endorsers.json'), JSON.stringify({ endorsers: keys.map((k) => ({ identity: `${k.name}@site-a`, keys: [k.test.publicLine] })) }, null, 2));
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--no-verify', '-m', 'records');
  const base = git(dir, 'rev-parse', 'HEAD').trim();
  console.log(`${n} images, ${n} endorsements (two endorsers), ${new Date().toISOString()}`);
  timed('catalog validate (records only)', ['catalog', 'validate', dir]);
  const init = git(dir, 'rev-list', '--max-parents=0', 'HEAD').trim();
  timed('catalog validate --base (the change adding every record)', ['catalog', 'validate', dir, '--base', init]);

  const signers = keys.map((k) => ({ ...k, key: parsePrivateKeyFile(readFileSync(k.test.file, 'utf8')) }));
  const started = performance.now();
  const files = records.map((r, i) => {
    const s = signers[i % 2]!;
    return endorse(r, s.key, `${s.name}@site-a`, { claims: ['tested'] });
  });
  const signMs = performance.now() - started;
  console.log(`${'signing in-process'.padEnd(58)} ${(signMs / 1000).toFixed(2)} s (${((signMs * 1000) / n).toFixed(0)} µs each)`);
  for (const f of files) {
    const path = join(dir, statementPath(f));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, serializeStatementFile(f));
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--no-verify', '-m', 'endorsements');
  timed('catalog validate (records and endorsements)', ['catalog', 'validate', dir]);
  timed('catalog validate --base (the change adding every endorsement)', ['catalog', 'validate', dir, '--base', base]);
  timed('verify ID --catalog (one image)', ['verify', records[0]!.id, '--catalog', dir]);
  if (process.env['KEEP']) console.log(`kept ${dir} (base ${base})`);
} finally {
  if (!process.env['KEEP']) rmSync(scratch, { recursive: true, force: true });
}

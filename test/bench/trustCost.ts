/**
 * What verification costs at full size (issue 15), in one run:
 *
 * 1. verify: a catalogue of N images (default 100,000) with 10,000 endorsements by three endorsers
 *    (half the endorsed images by two of them), under trust roots (trust/root.json, two roots,
 *    threshold 2) that sign the endorser list. Times, as a user runs them: `visor verify ID --catalog`
 *    of one endorsed image (default policy, and `--policy` requiring two endorsers and a claim);
 *    the whole catalogue with `visor catalog validate` (every record, every signature, the trust
 *    roots), and `visor verify --catalog DIR --policy FILE` with no id (every image judged against
 *    the policy; its --json summary checked). Beside same-run baselines: the same
 *    commands on the same catalogue before its endorsements were committed, `visor verify --help` (the
 *    CLI's start), `git ls-tree -r` and a bare node read of the same files.
 * 2. sync: an upstream of M images (default 10,000, a tenth endorsed, every commit SSH-signed with
 *    the instance key), followed by daemons with (a) no verification settings, (b) only_endorsed and
 *    head_key pinned, with --split each half of (b) alone, and (c) (b) with signed_commits (every commit
 *    of the upstream is signed by its instance key). The upstream is, in
 *    turn (--upstream plain|daemon for one): a plain repository at a path URL, its head statement
 *    published as an instance's HeadPublisher does (refs/visor/head), each round 10 git commits of
 *    one record each, every other one endorsed; and a daemon serving /catalog.git, each round 10
 *    POST /images (its own commits, none endorsed), its HeadPublisher signing the head. R rounds
 *    (default 5, at least 2, then bounded by --sync-seconds): the 10 commits, then POST /sync on
 *    each follower in rotating order. Prints the medians, the on/off ratios and each follower's
 *    logged sync phases.
 *
 *   node_modules/.bin/node test/bench/trustCost.ts [--images 100000] [--sync-images 10000] [--rounds 5] [--sync-seconds 90] [--only verify|sync] [--upstream plain|daemon] [--split]
 *
 * Everything lives in one mktemp directory (in /dev/shm when it has room; BENCH_TMP=DIR to choose),
 * removed at the end (KEEP=1 keeps it). About 4 minutes at the defaults on the 2-core machine.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { ImageRecord } from '../../src/api/ImageRecord.ts';
import { recordPath } from '../../src/catalog/CatalogLayout.ts';
import { type ConfigFile } from '../../src/config/VisorConfig.ts';
import { endorse, serializeStatementFile } from '../../src/trust/Endorsing.ts';
import { HEAD_STATEMENT_REF, serializeHeadStatement, signHeadStatement } from '../../src/trust/HeadStatement.ts';
import { parsePrivateKeyFile, type SshPrivateKey } from '../../src/trust/SshKeys.ts';
import { statementPath } from '../../src/trust/StatementFile.ts';
import { signTrustFile } from '../../src/trust/TrustSigning.ts';
import { pino } from 'pino';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.ts';
import { imageRecord } from '../helpers/gitRepos.ts';
import { makeKey, type TestKey } from '../helpers/sshKeys.ts';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const images = arg('--images', 100_000);
const endorsements = Math.min(10_000, images);
const syncImages = arg('--sync-images', 10_000);
const rounds = arg('--rounds', 5);
const syncSeconds = arg('--sync-seconds', 90);
const split = process.argv.includes('--split');
const upstreamKinds = process.argv.includes('--upstream') ? [process.argv[process.argv.indexOf('--upstream') + 1]!] : ['plain', 'daemon'];
const visor = resolve(import.meta.dirname, '../../src/cli/visor.ts');
const generator = resolve(import.meta.dirname, 'generateCatalog.ts');
// In memory when it can be (BENCH_TMP to choose): the run writes ~130,000 small files, and deleting
// them from this machine's disk (ext4 mounted with discard) took two minutes after a 2-minute run.
const scratchParent = process.env['BENCH_TMP'] ?? (existsSync('/dev/shm') && statfsSync('/dev/shm').bavail * statfsSync('/dev/shm').bsize > 4 * 2 ** 30 ? '/dev/shm' : tmpdir());
const scratch = mkdtempSync(join(scratchParent, 'visor-trust-bench-'));
const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@x', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@x' };
const git = (dir: string, ...args: string[]) => execFileSync('git', ['-C', dir, '-c', 'gc.auto=0', ...args], { encoding: 'utf8', env: gitEnv, maxBuffer: 256 * 2 ** 20 });
const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const range = (xs: number[]) => (xs.length > 1 ? ` (${secs(Math.min(...xs))}-${secs(Math.max(...xs))})` : '');
const line = (what: string, figure: string) => console.log(`${what.padEnd(66)} ${figure}`);

interface Command {
  file: string;
  args: string[];
  /** The exit codes it may end with: a wrong setup must not pass as a figure. */
  ok: number[];
  /** Checks what it printed (each timed run). */
  check?: (stdout: string) => void;
}

/** Runs each command once to warm the page cache, then `times` rounds of each in turn (alternated, so the machine's load drifts over all alike). */
function alternate(commands: Command[], times: number, warm = true): number[][] {
  const out: number[][] = commands.map(() => []);
  for (let i = warm ? -1 : 0; i < times; i++) {
    for (const [k, c] of commands.entries()) {
      const started = performance.now();
      const r = spawnSync(c.file, c.args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 * 2 ** 20 });
      const ms = performance.now() - started;
      if (!c.ok.includes(r.status ?? -1)) throw new Error(`${c.file} ${c.args.join(' ')} exited ${r.status}, expected ${c.ok.join('/')}:\n${String(r.stderr).slice(0, 2000)}${String(r.stdout).slice(0, 2000)}`);
      c.check?.(String(r.stdout));
      if (i >= 0) out[k]!.push(ms);
    }
  }
  return out;
}
const run = (file: string, args: string[], ok: number[], times: number, warm = true) => alternate([{ file, args, ok }], times, warm)[0]!;
const cli = (args: string[], ok: number[]): Command => ({ file: process.execPath, args: [visor, ...args], ok });
/** A whole-catalogue command: its files were just written (in the page cache), and one run takes seconds: no warm-up. */
const visorRun = (args: string[], ok: number[], times: number) => run(process.execPath, [visor, ...args], ok, times, false);
/** The median with its range, and its ratio to a baseline's median. */
const figure = (xs: number[], base?: number[]) => `${secs(median(xs))}${range(xs)}${base ? `  = ${(median(xs) / median(base)).toFixed(2)}x` : ''}`;

const key = (name: string): { test: TestKey; key: SshPrivateKey } => {
  const test = makeKey(scratch, name);
  return { test, key: parsePrivateKeyFile(readFileSync(test.file, 'utf8')) };
};
const endorsers = ['alice', 'bob', 'carol'].map((name) => ({ name, identity: `${name}@site-a`, ...key(name) }));
const roots = ['root-1', 'root-2'].map((name) => ({ identity: `${name}@site-a`, ...key(name) }));

/** trust/root.json (two roots, threshold 2), trust/endorsers.json and both roots' signatures over both, as `visor trust sign` writes them. */
async function writeTrust(dir: string): Promise<void> {
  mkdirSync(join(dir, 'trust'), { recursive: true });
  writeFileSync(join(dir, 'trust/root.json'), `${JSON.stringify({ version: 1, threshold: 2, roots: roots.map((r) => ({ identity: r.identity, key: r.test.publicLine })) }, null, 2)}\n`);
  writeFileSync(join(dir, 'trust/endorsers.json'), `${JSON.stringify({ endorsers: endorsers.map((e) => ({ identity: e.identity, keys: [e.test.publicLine] })) }, null, 2)}\n`);
  const read = async (path: string) => {
    try {
      return readFileSync(join(dir, path), 'utf8');
    } catch {
      return undefined;
    }
  };
  for (const file of ['root.json', 'endorsers.json'] as const) {
    for (const r of roots) writeFileSync(join(dir, 'trust/signatures.json'), (await signTrustFile(file, r.key, { working: read, committed: async () => undefined })).text);
  }
}

function writeStatement(dir: string, record: ImageRecord, by: (typeof endorsers)[number], now = new Date(Date.now() - 60_000)): void {
  const file = endorse(record, by.key, by.identity, { claims: ['tested'], now });
  const path = join(dir, statementPath(file));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, serializeStatementFile(file));
}

/** generateCatalog.ts: N valid records of origin site-a, one commit, packed. Answers the ids, in file order. */
function generate(dir: string, n: number): string[] {
  const started = performance.now();
  execFileSync(process.execPath, [generator, dir, String(n), '--public', '--origin', 'site-a'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const ids = readdirSync(join(dir, 'images')).sort().flatMap((shard) => readdirSync(join(dir, 'images', shard)).sort().map((f) => f.slice(0, -5)));
  line(`generated ${n} records (generateCatalog.ts)`, secs(performance.now() - started));
  return ids;
}

const recordIn = (dir: string, id: string) => JSON.parse(readFileSync(join(dir, recordPath(id)), 'utf8')) as ImageRecord;

async function verifyPart(): Promise<void> {
  console.log(`\n## verify: ${images} images, ${endorsements} endorsements by ${endorsers.length} endorsers under 2 trust roots; load ${load()}, ${new Date().toISOString()}`);
  const dir = join(scratch, 'catalogue');
  const ids = generate(dir, images);
  // Spread over the catalogue: every (images / endorsed)th image, each by two of the three endorsers.
  const endorsed = Math.floor(endorsements / 2);
  const step = Math.max(1, Math.floor(ids.length / endorsed));
  const endorsedIds = ids.filter((_, i) => i % step === 0).slice(0, endorsed);
  const target = endorsedIds[Math.floor(endorsedIds.length / 2)]!;
  const policyFile = join(scratch, 'policy.json');
  const policyText = JSON.stringify({ threshold: 2, required_claims: ['tested'] });
  writeFileSync(policyFile, policyText);
  await writeTrust(dir);
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '--no-verify', '-m', 'trust roots and endorser list');

  // Baselines on the catalogue without endorsements (the same files but for endorsements/).
  // The CLI's start (its modules loaded, nothing done), alternated with the one-image verify.
  const [cliStart, unendorsedOne] = alternate([cli(['verify', '--help'], [0]), cli(['verify', target, '--catalog', dir], [1])], 5);
  line('baseline: visor verify --help (the CLI start)', figure(cliStart!));
  const nodeStart = run(process.execPath, ['-e', '0'], [0], 5);
  line('baseline: node -e 0', figure(nodeStart));
  const lsTree = run('git', ['-C', dir, 'ls-tree', '-r', 'HEAD'], [0], 3);
  line(`baseline: git ls-tree -r HEAD (${images} files)`, figure(lsTree));
  const readAll = `const fs=require('fs'),p=require('path');let n=0;const walk=d=>{for(const e of fs.readdirSync(d,{withFileTypes:true})){const f=p.join(d,e.name);if(e.isDirectory())walk(f);else{JSON.parse(fs.readFileSync(f,'utf8'));n++}}};walk(process.argv[1]+'/images');if(require('fs').existsSync(process.argv[1]+'/endorsements'))walk(process.argv[1]+'/endorsements')`;
  const readBare = run(process.execPath, ['-e', readAll, dir], [0], 2, false);
  line('baseline: bare node read + JSON.parse of every record', figure(readBare));
  line('verify ID --catalog, before endorsements (exit 1: unendorsed)', figure(unendorsedOne!, cliStart));
  const validateBare = visorRun(['catalog', 'validate', dir], [0], 2);
  line('catalog validate, before endorsements', figure(validateBare, readBare));

  const started = performance.now();
  for (const [i, id] of endorsedIds.entries()) {
    const record = recordIn(dir, id);
    writeStatement(dir, record, endorsers[i % 3]!);
    writeStatement(dir, record, endorsers[(i + 1) % 3]!);
  }
  line(`${endorsedIds.length * 2} endorsements signed and written`, secs(performance.now() - started));
  git(dir, '-c', 'core.bigFileThreshold=1', 'add', '-A');
  git(dir, 'commit', '-q', '--no-verify', '-m', 'endorsements');

  const [start2, one, onePolicy] = alternate([cli(['verify', '--help'], [0]), cli(['verify', target, '--catalog', dir], [0]), cli(['verify', target, '--catalog', dir, '--policy', policyFile], [0])], 5);
  line('baseline: visor verify --help, again', figure(start2!));
  line('verify ID --catalog (one endorsed image, default policy)', figure(one!, start2));
  line('verify ID --catalog --policy (threshold 2, claim tested)', figure(onePolicy!, start2));
  const validate = visorRun(['catalog', 'validate', dir], [0], 2);
  line('catalog validate, with endorsements and trust roots', `${figure(validate, validateBare)} of before`);
  const readWith = run(process.execPath, ['-e', readAll, dir], [0], 2, false);
  line('baseline: bare node read + JSON.parse of every record and statement', figure(readWith));
  line('catalog validate with endorsements against that bare read', figure(validate, readWith));

  // Every image judged against the policy by the real command (no id): exit 1, since 95% are unendorsed; its --json summary is checked.
  let summary: { images: number; images_met: number; statements: number } | undefined;
  // Alternated with the bare read, 3 rounds each: the load on this machine drifts within seconds.
  const [readAgain, all] = alternate([{ file: process.execPath, args: ['-e', readAll, dir], ok: [0] }, { ...cli(['verify', '--catalog', dir, '--policy', policyFile, '--json'], [1]), check: (out) => (summary = JSON.parse(out)) }], 3, false);
  if (summary?.images !== images || summary.images_met !== endorsedIds.length || summary.statements !== endorsedIds.length * 2) throw new Error(`expected ${endorsedIds.length} of ${images} images to meet the policy, ${endorsedIds.length * 2} statements checked: ${JSON.stringify(summary)}`);
  line('baseline: the bare read again, alternated with the next line', figure(readAgain!));
  line(`verify --catalog --policy, no id: every image judged (${summary.images_met} met)`, `${figure(all!, readAgain)} the bare read`);
  line('  the same against catalog validate', figure(all!, validate));
}

/** The upstream a sync part follows: where it is, its instance key, and how a round's 10 commits are made there. */
interface Upstream {
  kind: string;
  url: string;
  headKey: string;
  /** Makes 10 commits and waits until the signed head statement names the last. */
  round(round: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The upstream's starting catalogue in `dir`: `syncImages` records, trust files, a tenth of the images
 * endorsed; every commit SSH-signed with the instance key (git's own signing), as a daemon that signs
 * its commits leaves them, so that a signed_commits follower can adopt it.
 */
async function upstreamCatalogue(dir: string, sign: string[]): Promise<void> {
  const ids = generate(dir, syncImages);
  await writeTrust(dir);
  for (let i = 0; i < ids.length; i += 10) writeStatement(dir, recordIn(dir, ids[i]!), endorsers[(i / 10) % 3]!);
  git(dir, 'add', '-A');
  const [root] = git(dir, 'rev-list', '--max-parents=0', 'HEAD').trim().split('\n');
  const signedRoot = git(dir, ...sign, 'commit-tree', '-S', `${root}^{tree}`, '-m', 'generated catalogue').trim();
  const top = git(dir, ...sign, 'commit-tree', '-S', git(dir, 'write-tree').trim(), '-p', signedRoot, '-m', 'trust and endorsements').trim();
  git(dir, 'update-ref', 'refs/heads/main', top);
  git(dir, 'reset', '-q', '--hard', 'HEAD');
}

/** A plain repository (a path URL), its head statement published by this script as HeadPublisher does; each round's commits made with git: one record each, every other one with its endorsement. */
async function plainUpstream(instance: ReturnType<typeof key>, sign: string[]): Promise<Upstream> {
  const dir = join(scratch, 'upstream');
  await upstreamCatalogue(dir, sign);
  const publishHead = () => {
    const file = signHeadStatement(instance.key, { instance: 'site-a', branch: 'main', head: git(dir, 'rev-parse', 'HEAD').trim(), now: new Date(), validitySeconds: 3600 });
    const blob = execFileSync('git', ['-C', dir, 'hash-object', '-w', '--stdin'], { input: serializeHeadStatement(file), encoding: 'utf8' }).trim();
    git(dir, 'update-ref', HEAD_STATEMENT_REF, blob);
  };
  publishHead();
  return {
    kind: 'a plain repository (path URL); 10 commits a round, one record each, every other one endorsed',
    url: dir,
    headKey: instance.test.publicLine,
    async round(round) {
      for (let i = 0; i < 10; i++) {
        const r = imageRecord({ origin: 'site-a', uploaded_at: new Date(Date.now() - 60_000).toISOString() }) as unknown as ImageRecord;
        mkdirSync(dirname(join(dir, recordPath(r.id))), { recursive: true });
        writeFileSync(join(dir, recordPath(r.id)), `${JSON.stringify(r, null, 2)}\n`);
        if (i % 2 === 0) writeStatement(dir, r, endorsers[i % 3]!);
        git(dir, 'add', '-A');
        git(dir, ...sign, 'commit', '-q', '-S', '--no-verify', '-m', `round ${round}, change ${i}`);
      }
      publishHead();
    },
    close: async () => undefined,
  };
}

/**
 * A daemon (in this process) serving the catalogue at /catalog.git, with the instance key written
 * into its data directory beforehand (so the history made here is signed by the key it signs with).
 * Each round: 10 POST /images, one commit each, made and signed (once the lead's daemon signing is
 * in) by the daemon; none endorsed (the API writes no statements), so only_endorsed keeps all 10 out.
 * Then waits for its HeadPublisher (every 2 s) to sign the new head.
 */
async function daemonUpstream(instance: ReturnType<typeof key>, sign: string[]): Promise<Upstream> {
  const dataDir = join(scratch, 'upstream-daemon');
  await upstreamCatalogue(join(dataDir, 'catalog'), sign);
  writeFileSync(join(dataDir, 'instance-key.pem'), instance.key.key.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  const d = await startTestDaemon({ dataDir, config: { instance_name: 'site-a', log: { level: process.env['BENCH_LOG'] ?? 'silent' } } });
  const head = async () => (await (await fetch(`${d.url}/catalog/HEAD`)).json()) as { commit: string; key?: string; signed_head?: { statement: { head: string } } };
  const signed = async () => {
    for (let i = 0; i < 200; i++) {
      const h = await head();
      if (h.signed_head?.statement.head === h.commit) return h;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the upstream daemon did not sign its head within 20 s');
  };
  const first = await signed();
  if (!first.key) throw new Error('the upstream daemon publishes no instance key');
  return {
    kind: 'a daemon (/catalog.git over HTTP, in this process); 10 commits a round through POST /images, none endorsed',
    url: `${d.url}/catalog.git`,
    headKey: first.key,
    async round(round) {
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${d.url}/images`, { method: 'POST', headers: { authorization: `Bearer ${d.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `round-${round}-${i}`, access: 'public' }) });
        if (res.status !== 201) throw new Error(`POST /images: ${res.status} ${await res.text()}`);
      }
      await signed();
    },
    close: () => d.stop(),
  };
}

async function syncPart(upstreamKind: string): Promise<void> {
  const instance = key(`instance-${upstreamKind}`);
  // The key that signs the upstream's commits: the instance's own (head_key), as a daemon signs its commits.
  const commitKey = instance.test.file;
  // Every upstream commit is signed (git's SSH signing): the followers without signed_commits ignore it.
  const sign = ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${commitKey}`];
  console.log(`\n## sync: upstream of ${syncImages} images (a tenth endorsed); load ${load()}, ${new Date().toISOString()}`);
  const upstream = upstreamKind === 'daemon' ? await daemonUpstream(instance, sign) : await plainUpstream(instance, sign);
  console.log(`upstream: ${upstream.kind}`);
  // (a) off, (b) on, and with --split each half of (b) alone, to say which costs what.
  const variants: Array<{ name: string; settings: Record<string, unknown> }> = [
    { name: 'off (no verification settings)', settings: {} },
    { name: 'only_endorsed + head_key', settings: { only_endorsed: true, head_key: upstream.headKey } },
  ];
  if (split) variants.push({ name: 'head_key alone', settings: { head_key: upstream.headKey } }, { name: 'only_endorsed alone', settings: { only_endorsed: true } });
  variants.push({ name: 'only_endorsed + head_key + signed_commits', settings: { only_endorsed: true, head_key: upstream.headKey, signed_commits: true } });

  const daemons: TestDaemon[] = [];
  // Each sync's phases as the follower logs them ('upstream sync': fetch, integrate, check, endorsed, ...).
  const phases: Array<Array<Record<string, number>>> = variants.map(() => []);
  const syncLogger = (i: number) =>
    pino({ level: 'info' }, { write: (text: string) => {
      const entry = JSON.parse(text) as { msg?: string; phases?: Record<string, number> };
      if (entry.msg === 'upstream sync' && entry.phases) phases[i]!.push(entry.phases);
    } });
  try {
    for (const [i, v] of variants.entries()) daemons.push(await startTestDaemon({ dataDir: join(scratch, `follower-${upstreamKind}-${i}`), logger: syncLogger(i), config: { instance_name: 'site-b', log: { level: process.env['BENCH_LOG'] ?? 'silent' }, upstreams: { up: { url: upstream.url, interval_seconds: 0, ...v.settings } } } as ConfigFile }));
    const sync = async (d: TestDaemon): Promise<{ ms: number; mode: string }> => {
      const started = performance.now();
      const res = await fetch(`${d.url}/sync`, { method: 'POST', headers: { authorization: `Bearer ${d.token}` } });
      const body = (await res.json()) as { results: Array<{ mode: string }> };
      const ms = performance.now() - started;
      if (res.status !== 200 || !body.results[0] || body.results[0].mode === 'refused') throw new Error(`sync failed: ${JSON.stringify(body).slice(0, 1000)}`);
      return { ms, mode: body.results[0].mode };
    };
    for (const [i, d] of daemons.entries()) {
      const r = await sync(d);
      line(`first sync (adoption), ${variants[i]!.name}`, `${secs(r.ms)} (${r.mode})`);
    }
    const times: number[][] = variants.map(() => []);
    const modes: Set<string>[] = variants.map(() => new Set());
    const syncStarted = performance.now();
    for (let round = 0; round < rounds && (round < 2 || performance.now() - syncStarted < syncSeconds * 1000); round++) {
      await upstream.round(round);
      // Rotate which goes first: a later one may find git's caches warm.
      for (let k = 0; k < daemons.length; k++) {
        const i = (round + k) % daemons.length;
        const r = await sync(daemons[i]!);
        times[i]!.push(r.ms);
        modes[i]!.add(r.mode);
      }
    }
    console.log(`load ${load()}`);
    for (const [i, t] of times.entries()) {
      line(`10 changes, ${variants[i]!.name} [${[...modes[i]!].join(', ')}]`, `${figure(t, i === 0 ? undefined : times[0])}${i === 0 ? '' : ' of off'}  (${t.map((ms) => ms.toFixed(0)).join(', ')} ms)`);
      const rounds = phases[i]!.slice(1); // not the adoption
      const names = [...new Set(rounds.flatMap((p) => Object.keys(p)))];
      console.log(`${''.padEnd(4)}phases (median ms): ${names.map((n) => `${n} ${median(rounds.map((p) => p[n] ?? 0))}`).join(', ')}`);
    }
  } finally {
    for (const d of daemons) await d.stop().catch(() => undefined);
    await upstream.close().catch(() => undefined);
  }
}

try {
  // A follower's catalogue is made with the bundled checker: without it every daemon here fails to start.
  if (!existsSync(resolve(import.meta.dirname, '../../dist/visor-check.mjs'))) throw new Error('dist/visor-check.mjs is missing: run npm run build first');
  console.log(`trustCost.ts, ${new Date().toISOString()}, load ${load()}, node ${process.version}, files in ${scratchParent}`);
  if (only === undefined || only === 'verify') await verifyPart();
  if (only === undefined || only === 'sync') for (const kind of upstreamKinds) await syncPart(kind);
  console.log(`\nload ${load()}, ${new Date().toISOString()}`);
} finally {
  if (process.env['KEEP']) console.log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

/**
 * Helpers of the catalogue-scale benchmark (test/bench/catalog-scale.sh). One program, several
 * commands; each prints one JSON line on stdout (progress goes to stderr):
 *
 *   catalogScale.ts make-pr DIR [--added 60] [--modified 30] [--deleted 10] [--branch pr] [--seed S]
 *       On a generated catalogue (a clone at main), creates BRANCH from main with one commit that adds,
 *       modifies (description, updated_at) and deletes records — a pull request. Leaves BRANCH checked out.
 *   catalogScale.ts upstream-change DIR N --out FILE [--seed S]
 *       Commits, on the checked-out branch of DIR, a change of N public records (description and
 *       updated_at); writes FILE: one {"id", "description"} a line.
 *   catalogScale.ts sync-timing --url URL --token-file F [--changes FILE] [--timeout S] [--poll-ms 2]
 *       POST /sync, and meanwhile polls GET /images/<id> of every changed record until it shows its
 *       new description: ms from the request to the response, and to the first and last change visible.
 *   catalogScale.ts static-walk --url URL --state FILE [--concurrency 8] [--max-seconds 120]
 *       Walks the static view (/catalog/files): the root listing, each shard listing, each file. With a
 *       FILE from an earlier walk it fetches only entries whose object id changed (what a mirror does);
 *       writes the new state to FILE. Requests, bytes and time.
 *   catalogScale.ts history SRC_DIR REPO --commits C [--budget-seconds S] [--seed S]
 *       Writes a history into a new bare repository REPO with `git fast-import`: one commit per record
 *       of the catalogue in SRC_DIR's working tree (adds), then modifications of random records
 *       (updated_at, description) up to C commits in all, or until the time budget runs out.
 *   catalogScale.ts report METRICS.jsonl OUT.json
 *       The report: each figure, its target, PASS/MISS; the whole as JSON.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Agent, request } from 'node:http';

import { loadMetrics, type Json } from './benchMetrics.ts';
import { prng } from './seededRandom.ts';
type Rec = Record<string, unknown> & { id: string; name: string; access: string };

const say = (message: string): void => void process.stderr.write(`[catalogScale] ${message}\n`);
const out = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

function fail(message: string): never {
  process.stderr.write(`catalogScale: ${message}\n`);
  process.exit(2);
}

/** --key value options and positional arguments. */
function parse(argv: string[]): { pos: string[]; opt: Map<string, string> } {
  const pos: string[] = [];
  const opt = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a.startsWith('--')) {
      const v = argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      opt.set(a.slice(2), v);
    } else pos.push(a);
  }
  return { pos, opt };
}
const numOpt = (opt: Map<string, string>, key: string, dflt: number): number => {
  const v = opt.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) fail(`--${key} must be a non-negative number`);
  return n;
};

const recordPath = (id: string): string => `images/${id.slice(0, 2)}/${id}.json`;
const serialize = (r: Rec): string => `${JSON.stringify(r, null, 2)}\n`;

/** Every record file of a catalogue working tree, path → parsed record, in path order. */
function readCatalog(dir: string): Array<[string, Rec]> {
  const records: Array<[string, Rec]> = [];
  const root = join(dir, 'images');
  for (const shard of readdirSync(root).sort()) {
    if (shard.startsWith('.')) continue;
    for (const name of readdirSync(join(root, shard)).sort()) {
      if (!name.endsWith('.json')) continue;
      const path = `images/${shard}/${name}`;
      records.push([path, JSON.parse(readFileSync(join(dir, path), 'utf8')) as Rec]);
    }
  }
  return records;
}

/** Only record paths tracked in the catalogue (listing the tree is cheaper than reading every file). */
function trackedRecordPaths(dir: string): string[] {
  return execFileSync('git', ['ls-files', '-z', '--', 'images'], { cwd: dir, maxBuffer: 1 << 30 })
    .toString('utf8')
    .split('\0')
    .filter((p) => p.endsWith('.json'));
}

function git(dir: string, args: string[], input?: string): string {
  return execFileSync('git', ['-c', 'user.name=VISOR bench', '-c', 'user.email=bench@visor.invalid', '-c', 'core.fsync=none', ...args], {
    cwd: dir,
    input,
    maxBuffer: 1 << 30,
    stdio: ['pipe', 'pipe', 'inherit'],
  }).toString('utf8');
}

/** `count` distinct picks from `xs` that satisfy `ok`. */
function pickDistinct<T>(xs: readonly T[], count: number, rand: () => number, ok: (x: T) => boolean, taken = new Set<T>()): T[] {
  const picked: T[] = [];
  for (let tries = 0; picked.length < count && tries < count * 1000; tries++) {
    const x = xs[Math.floor(rand() * xs.length)] as T;
    if (taken.has(x) || !ok(x)) continue;
    taken.add(x);
    picked.push(x);
  }
  if (picked.length < count) fail(`could not pick ${count} suitable records`);
  return picked;
}

const readRecord = (dir: string, path: string): Rec => JSON.parse(readFileSync(join(dir, path), 'utf8')) as Rec;

/** A record changed the way a publisher would: new description, later updated_at. Immutable fields stay. */
function edited(r: Rec, label: string, when: Date): Rec {
  const copy: Rec = { ...r, updated_at: when.toISOString() };
  // Insert description in the schema's place (after tags) when the record had none: keys stay canonical.
  if (copy.description !== undefined) copy.description = `${String(copy.description)}\n${label}\n`;
  else {
    const ordered: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(copy)) {
      if (k === 'series' || k === 'properties') if (!('description' in ordered)) ordered.description = `${label}\n`;
      ordered[k] = v;
    }
    if (!('description' in ordered)) ordered.description = `${label}\n`;
    return ordered as Rec;
  }
  return copy;
}

// ---- make-pr ----------------------------------------------------------------------------------
function makePr(argv: string[]): void {
  const { pos, opt } = parse(argv);
  const dir = pos[0] ?? fail('make-pr needs DIR');
  const added = numOpt(opt, 'added', 60);
  const modified = numOpt(opt, 'modified', 30);
  const deleted = numOpt(opt, 'deleted', 10);
  const branch = opt.get('branch') ?? 'pr';
  const rand = prng(numOpt(opt, 'seed', 7));
  const t0 = performance.now();
  git(dir, ['checkout', '-q', '-B', branch, 'main']);
  const paths = trackedRecordPaths(dir);
  const taken = new Set<string>();
  const toModify = pickDistinct(paths, modified, rand, () => true, taken);
  // Kernels and ramdisks may be referenced; deleting one is refused by design, so delete other images.
  const toDelete = pickDistinct(paths, deleted, rand, (p) => !['kernel', 'ramdisk'].includes(String(readRecord(dir, p).type)), taken);
  const templates = pickDistinct(paths, added, rand, (p) => {
    const r = readRecord(dir, p);
    return r.kernel === undefined && r.ramdisk === undefined;
  }, taken);
  const now = new Date();
  const addedIds: string[] = [];
  for (const [i, p] of templates.entries()) {
    const t = readRecord(dir, p);
    const id = randomUUID();
    // Same key order as the template: only values change (a new image, a new name in its series).
    const r: Rec = { ...t, id, name: `${t.name} pr-${i + 1}`, created_at: now.toISOString(), updated_at: now.toISOString(), uploaded_at: now.toISOString() };
    if (Array.isArray(t.locations)) r.locations = [{ store: 'fs', key: id }];
    mkdirSync(join(dir, 'images', id.slice(0, 2)), { recursive: true });
    writeFileSync(join(dir, recordPath(id)), serialize(r));
    addedIds.push(id);
  }
  for (const p of toModify) writeFileSync(join(dir, p), serialize(edited(readRecord(dir, p), 'Edited in the benchmark pull request.', now)));
  git(dir, ['rm', '-q', '--', ...toDelete]);
  git(dir, ['add', '--', ...addedIds.map(recordPath), ...toModify]);
  git(dir, ['commit', '-q', '--no-verify', '-m', `bench: pull request (${added} added, ${modified} modified, ${deleted} deleted)`]);
  const stat = git(dir, ['diff', '--shortstat', 'main', branch]).trim();
  out({ branch, added: addedIds.length, modified: toModify.length, deleted: toDelete.length, diff: stat, ms: Math.round(performance.now() - t0) });
}

// ---- upstream-change --------------------------------------------------------------------------
function upstreamChange(argv: string[]): void {
  const { pos, opt } = parse(argv);
  const dir = pos[0] ?? fail('upstream-change needs DIR');
  const count = Number(pos[1] ?? 10);
  const outFile = opt.get('out') ?? fail('--out FILE is required');
  const rand = prng(numOpt(opt, 'seed', 11));
  const paths = trackedRecordPaths(dir);
  const chosen = pickDistinct(paths, count, rand, (p) => readRecord(dir, p).access === 'public');
  const token = `bench-change-${Date.now()}`;
  const lines: string[] = [];
  const now = new Date();
  for (const [i, p] of chosen.entries()) {
    const r = edited(readRecord(dir, p), `Changed upstream (${token}-${i}).`, now);
    writeFileSync(join(dir, p), serialize(r));
    lines.push(JSON.stringify({ id: r.id, description: r.description }));
  }
  git(dir, ['add', '--', ...chosen]);
  git(dir, ['commit', '-q', '--no-verify', '-m', `bench: ${count} images changed upstream`]);
  writeFileSync(outFile, `${lines.join('\n')}\n`);
  out({ changed: chosen.length, commit: git(dir, ['rev-parse', 'HEAD']).trim() });
}

// ---- HTTP -------------------------------------------------------------------------------------
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function http(url: string, options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end();
  });
}

async function syncTiming(argv: string[]): Promise<void> {
  const { opt } = parse(argv);
  const url = opt.get('url') ?? fail('--url is required');
  const token = readFileSync(opt.get('token-file') ?? fail('--token-file is required'), 'utf8').trim();
  const timeoutMs = numOpt(opt, 'timeout', 60) * 1000;
  const pollMs = numOpt(opt, 'poll-ms', 2);
  const changesFile = opt.get('changes');
  const changes: Array<{ id: string; description: string }> = changesFile
    ? readFileSync(changesFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; description: string })
    : [];
  const auth = { Authorization: `Bearer ${token}` };
  const t0 = performance.now();
  const since = (): number => Math.round((performance.now() - t0) * 10) / 10;
  const result: Record<string, Json> = {};
  let done = false;
  const sync = http(`${url}/sync`, { method: 'POST', headers: auth, timeoutMs }).then(
    (res) => {
      result.response_ms = since();
      result.status = res.status;
      try {
        const r = (JSON.parse(res.body.toString('utf8')) as { results: Array<Record<string, Json>> }).results[0] ?? {};
        result.mode = r.mode ?? null;
        result.changed = Array.isArray(r.changed) ? r.changed.length : null;
        result.server_ms = r.ms ?? null;
        result.problems = Array.isArray(r.problems) ? r.problems.length : null;
        if (r.error) result.error = r.error;
        if (Array.isArray(r.problems) && r.problems.length > 0) result.first_problem = r.problems[0] ?? null;
      } catch {
        result.body = res.body.toString('utf8').slice(0, 500);
      }
    },
    (e: Error) => {
      result.response_ms = null;
      result.error = e.message;
    },
  );
  const visible: number[] = [];
  const poll = (async () => {
    const pending = new Set(changes.map((c) => c.id));
    const want = new Map(changes.map((c) => [c.id, c.description]));
    while (pending.size > 0 && !done && performance.now() - t0 < timeoutMs) {
      for (const id of [...pending]) {
        const res = await http(`${url}/images/${id}`, { headers: auth, timeoutMs: 10_000 }).catch(() => undefined);
        if (res?.status === 200 && (JSON.parse(res.body.toString('utf8')) as { description?: string }).description === want.get(id)) {
          pending.delete(id);
          visible.push(since());
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, pollMs));
    }
    result.not_visible = pending.size;
  })();
  await sync;
  // After the response, keep polling a little: the index may follow the commit.
  await Promise.race([poll, new Promise((r) => setTimeout(r, Math.max(0, Math.min(30_000, timeoutMs - (performance.now() - t0)))))]);
  done = true;
  await poll;
  result.ids = changes.length;
  result.first_visible_ms = visible.length ? Math.min(...visible) : null;
  result.all_visible_ms = changes.length > 0 && visible.length === changes.length ? Math.max(...visible) : null;
  out(result);
  agent.destroy();
}

// ---- static-walk ------------------------------------------------------------------------------
interface Listing {
  entries: Array<{ name: string; type: 'file' | 'folder'; oid: string }>;
}

async function staticWalk(argv: string[]): Promise<void> {
  const { opt } = parse(argv);
  const url = opt.get('url') ?? fail('--url is required');
  const stateFile = opt.get('state') ?? fail('--state FILE is required');
  const concurrency = numOpt(opt, 'concurrency', 8);
  const deadline = performance.now() + numOpt(opt, 'max-seconds', 120) * 1000;
  const before = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as Record<string, string>) : {};
  // What the mirror knows: the earlier state, updated by this walk (a file deleted since stays: harmless here).
  const after: Record<string, string> = { ...before };
  let requests = 0;
  let bytes = 0;
  let notModified = 0;
  let files = 0;
  let complete = true;
  let toFetch = 0;
  const t0 = performance.now();
  const get = async (path: string, etag?: string) => {
    requests++;
    const res = await http(`${url}/catalog/files${path ? `/${path}` : ''}`, { headers: etag ? { 'If-None-Match': `"${etag}"` } : {} });
    bytes += res.body.length;
    if (res.status === 304) notModified++;
    else if (res.status !== 200) throw new Error(`GET /catalog/files/${path}: ${res.status}`);
    return res;
  };
  /** Runs fn over items, `concurrency` at a time, until the deadline. */
  const pool = async <T>(items: T[], fn: (x: T) => Promise<void>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, items.length) }, async () => {
        while (next < items.length) {
          if (performance.now() > deadline) {
            complete = false;
            return;
          }
          await fn(items[next++] as T);
        }
      }),
    );
  };
  const root = await get('', before['']);
  const rootListing = root.status === 304 ? undefined : (JSON.parse(root.body.toString('utf8')) as Listing);
  after[''] = String(root.headers.etag ?? '').replaceAll('"', '');
  if (rootListing) {
    const folders: Array<{ path: string; oid: string }> = [];
    const leaf: Array<{ path: string; oid: string }> = [];
    const walkFolder = async (path: string, oid: string) => {
      after[path] = oid;
      // Unchanged folder: its whole subtree is unchanged, and its entries stay as they were (copied below).
      if (before[path] === oid) return;
      const res = await get(path);
      for (const e of (JSON.parse(res.body.toString('utf8')) as Listing).entries) {
        const p = `${path}/${e.name}`;
        if (e.type === 'folder') folders.push({ path: p, oid: e.oid });
        else leaf.push({ path: p, oid: e.oid });
      }
    };
    for (const e of rootListing.entries) {
      if (e.type === 'folder') folders.push({ path: e.name, oid: e.oid });
      else leaf.push({ path: e.name, oid: e.oid });
    }
    // images/ first, then its shards (breadth first).
    while (folders.length > 0) {
      const batch = folders.splice(0);
      await pool(batch, (f) => walkFolder(f.path, f.oid));
    }
    // Every listed file's object id is known from the listings, fetched or not (a walk cut by its
    // time bound still leaves a state the next walk can compare against).
    for (const f of leaf) after[f.path] = f.oid;
    const changed = leaf.filter((f) => before[f.path] !== f.oid);
    await pool(changed, async (f) => {
      await get(f.path);
      files++;
    });
    toFetch = changed.length;
  }
  mkdirSync(dirname(stateFile), { recursive: true });
  writeFileSync(stateFile, JSON.stringify(after));
  const elapsed = performance.now() - t0;
  // A walk cut by its bound: the whole walk at the rate measured.
  const estimate = complete || files === 0 ? undefined : Math.round((elapsed * toFetch) / files);
  out({ requests, bytes, files_fetched: files, files_changed: toFetch, not_modified: notModified, estimated_full_ms: estimate ?? null, entries: Object.keys(after).length, complete, ms: Math.round(elapsed), concurrency });
  agent.destroy();
}

// ---- history ----------------------------------------------------------------------------------
async function history(argv: string[]): Promise<void> {
  const { pos, opt } = parse(argv);
  const src = pos[0] ?? fail('history needs SRC_DIR');
  const repo = pos[1] ?? fail('history needs REPO');
  const commits = numOpt(opt, 'commits', 1_000_000);
  const budgetMs = numOpt(opt, 'budget-seconds', 600) * 1000;
  const rand = prng(numOpt(opt, 'seed', 3));
  const t0 = performance.now();
  const records = readCatalog(src);
  const originals = records.map(([, r]) => r);
  const config = readFileSync(join(src, 'visor-catalog.json'), 'utf8');
  say(`read ${records.length} records in ${Math.round(performance.now() - t0)} ms; writing up to ${commits} commits (budget ${budgetMs / 1000} s)`);
  rmSync(repo, { recursive: true, force: true });
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', repo]);
  execFileSync('git', ['-C', repo, 'config', 'gc.auto', '0']);
  const tStart = performance.now();
  const child = spawn('git', ['fast-import', '--quiet', '--done', '--depth=50'], { cwd: repo, stdio: ['pipe', 'inherit', 'inherit'] });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  const enc = (s: string): string => `data ${Buffer.byteLength(s)}\n${s}\n`;
  // Committer times: one commit a minute, starting three years ago.
  const epoch = Math.floor(Date.now() / 1000) - commits * 60;
  let made = 0;
  let adds = 0;
  let mods = 0;
  let chunk: string[] = [];
  let stoppedByBudget = false;
  const flush = async () => {
    if (chunk.length === 0) return;
    const text = chunk.join('');
    chunk = [];
    if (!child.stdin.write(text)) await new Promise((r) => child.stdin.once('drain', r));
  };
  for (let i = 0; i < commits; i++) {
    const when = epoch + i * 60;
    let message: string;
    let files: string;
    if (i < records.length) {
      const [path, r] = records[i] as [string, Rec];
      message = `Register image ${r.id} ${JSON.stringify(r.name)}`;
      files = `M 100644 inline ${path}\n${enc(serialize(r))}`;
      if (i === 0) files += `M 100644 inline visor-catalog.json\n${enc(config)}`;
      adds++;
    } else {
      const k = Math.floor(rand() * records.length);
      const entry = records[k] as [string, Rec];
      // The original record plus one revision line: a record stays a record's size, however often edited.
      const r = edited(originals[k] as Rec, `Revision ${i}.`, new Date(when * 1000));
      entry[1] = r;
      message = `Update image ${r.id}: description, updated_at`;
      files = `M 100644 inline ${entry[0]}\n${enc(serialize(r))}`;
      mods++;
    }
    chunk.push(`commit refs/heads/main\ncommitter VISOR bench <bench@visor.invalid> ${when} +0000\n${enc(message)}${files}\n`);
    made++;
    if (chunk.length >= 2000) {
      await flush();
      if (performance.now() - tStart > budgetMs && i >= records.length) {
        stoppedByBudget = made < commits;
        break;
      }
      if (made % 100_000 === 0) say(`${made} commits in ${Math.round((performance.now() - tStart) / 1000)} s`);
    }
  }
  await flush();
  child.stdin.end('done\n');
  const code = await exited;
  if (code !== 0) fail(`git fast-import exited with ${code}`);
  const ms = Math.round(performance.now() - tStart);
  const head = execFileSync('git', ['-C', repo, 'rev-parse', 'main']).toString().trim();
  const count = Number(execFileSync('git', ['-C', repo, 'rev-list', '--count', 'main']).toString().trim());
  out({ commits: count, requested: commits, adds, modifications: mods, stopped_by_budget: stoppedByBudget, images: records.length, ms, commits_per_s: Math.round(count / (ms / 1000)), head });
}

// ---- report -----------------------------------------------------------------------------------
function report(argv: string[]): void {
  const [metricsPath, outPath] = argv;
  if (!metricsPath || !outPath) fail('usage: report METRICS.jsonl OUT.json');
  const { data, get, num } = loadMetrics(metricsPath, (line) => say(`skipping unreadable metrics line: ${line.slice(0, 200)}`));
  const ms = (v: number | undefined): string => (v === undefined ? '—' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
  const mb = (v: number | undefined): string => (v === undefined ? '—' : v >= 1e9 ? `${(v / 1e9).toFixed(2)} GB` : `${(v / 1e6).toFixed(1)} MB`);
  const n = (v: number | undefined): string => (v === undefined ? '—' : v.toLocaleString('en-US'));
  const all: Array<{ section: string; figure: string; value: string; target: string; verdict: string; note?: string; measured: boolean }> = [];
  const check = (section: string, figure: string, value: number | undefined, shown: string, limitMs: number | undefined, note?: string) => {
    const verdict = limitMs === undefined ? 'info' : value === undefined ? 'n/a' : value < limitMs ? 'PASS' : 'MISS';
    all.push({ section, figure, value: shown, target: limitMs === undefined ? '' : `< ${ms(limitMs)}`, verdict, ...(note ? { note } : {}), measured: value !== undefined });
  };
  const images = num('meta.images');
  const sec1 = `1. validate (${n(images)} images)`;
  check(sec1, 'visor catalog validate DIR, 1st run', num('validate.full_ms.0'), ms(num('validate.full_ms.0')), 10_000);
  check(sec1, 'visor catalog validate DIR, 2nd run', num('validate.full_ms.1'), ms(num('validate.full_ms.1')), 10_000);
  check(sec1, 'CLI start-up alone (visor catalog --help)', num('validate.cli_startup_ms'), ms(num('validate.cli_startup_ms')), undefined);
  const sec2 = '2. pull request (60 added, 30 modified, 10 deleted)';
  check(sec2, 'validate --base main, cold (no facts cache)', num('pr.validate_cold_ms'), ms(num('pr.validate_cold_ms')), 1000);
  check(sec2, 'validate --base main, warm (facts cached)', num('pr.validate_warm_ms'), ms(num('pr.validate_warm_ms')), 1000);
  check(sec2, 'facts cache size', num('pr.facts_bytes'), mb(num('pr.facts_bytes')), undefined);
  check(sec2, 'git push to a bare repo with the pre-receive hook, cold', num('pr.push_cold_ms'), ms(num('pr.push_cold_ms')), 1000);
  check(sec2, 'git push, warm (second branch, facts cached)', num('pr.push_warm_ms'), ms(num('pr.push_warm_ms')), 1000);
  check(sec2, 'git push without the hook (baseline)', num('pr.push_nohook_ms'), ms(num('pr.push_nohook_ms')), undefined);
  const sec3 = `3. upstream sync (${n(images)} images)`;
  check(sec3, 'daemon start-up (empty data dir)', num('sync.ready_ms'), ms(num('sync.ready_ms')), undefined);
  const adoptMs = num('sync.adopt.response_ms');
  check(sec3, `first sync: adopt the upstream${get('sync.adopt.mode') ? ` (mode ${String(get('sync.adopt.mode'))})` : ''}`, adoptMs, adoptMs === undefined ? `> ${ms(num('sync.adopt_timeout_ms'))} (timed out)` : ms(adoptMs), undefined, get('sync.seeded') === true ? 'did not finish in its bound: the daemon was restarted on a clone of the upstream' : undefined);
  check(sec3, 'daemon start-up on a clone (when seeded)', num('sync.seeded_ready_ms'), ms(num('sync.seeded_ready_ms')), undefined);
  const seeded = get('sync.seeded') === true;
  for (const round of [1, 2] as const) {
    const label = round === 1 ? `first change after start${seeded ? ', facts cache cold' : ''}` : 'steady state';
    check(sec3, `10 changed upstream (${label}): POST /sync → response`, num(`sync.change${round}.response_ms`), ms(num(`sync.change${round}.response_ms`)), 1000);
    check(sec3, '  … → all 10 visible in GET /images/<id>', num(`sync.change${round}.all_visible_ms`), ms(num(`sync.change${round}.all_visible_ms`)), 1000);
  }
  check(sec3, 'POST /sync with nothing new (up-to-date)', num('sync.noop.response_ms'), ms(num('sync.noop.response_ms')), undefined);
  const walkCut = get('sync.static_full.complete') === false;
  check(sec3, `static view: full walk (${n(num('sync.static_full.requests'))} requests${walkCut ? `, ${n(num('sync.static_full.files_fetched'))} of ${n(num('sync.static_full.files_changed'))} files` : ''})`, num('sync.static_full.ms'), `${ms(num('sync.static_full.ms'))}, ${mb(num('sync.static_full.bytes'))}`, undefined, walkCut ? `cut at its bound; whole walk at this rate ≈ ${ms(num('sync.static_full.estimated_full_ms'))}` : undefined);
  check(sec3, `static view: update after the two changes (${n(num('sync.static_update.requests'))} requests)`, num('sync.static_update.ms'), `${ms(num('sync.static_update.ms'))}, ${mb(num('sync.static_update.bytes'))}`, undefined);
  const writes = num('sync.writes.shared_commits');
  const looseBytes = num('sync.writes.loose_bytes');
  const perCommit = writes && looseBytes !== undefined ? looseBytes / writes : undefined;
  check(sec3, `daemon writes: loose objects per commit (${n(writes)} commits, gc.auto=0)`, perCommit, perCommit === undefined ? '—' : `${n(Math.round((num('sync.writes.loose_objects') ?? 0) / (writes ?? 1)))} objects, ${(perCommit / 1000).toFixed(1)} kB`, undefined, perCommit === undefined ? undefined : `1,000,000 such commits ≈ ${mb(perCommit * 1e6)} unpacked`);
  const commits = num('history.commits');
  const sec4 = `4. history (${n(commits)} commits${get('history.stopped_by_budget') === true ? ', cut by the time budget' : ''})`;
  check(sec4, `fast-import (${n(num('history.commits_per_s'))} commits/s)`, num('history.ms'), ms(num('history.ms')), undefined);
  check(sec4, 'source repository pack', num('clone.source_pack_bytes'), mb(num('clone.source_pack_bytes')), undefined);
  check(sec4, 'git clone -n --no-local (full history): time', num('clone.full_ms'), ms(num('clone.full_ms')), undefined);
  check(sec4, 'git clone -n --no-local (full history): .git size', num('clone.full_git_bytes'), mb(num('clone.full_git_bytes')), undefined);
  check(sec4, 'git clone -n --depth 1: time', num('clone.shallow_ms'), ms(num('clone.shallow_ms')), undefined);
  check(sec4, 'git clone -n --depth 1: .git size', num('clone.shallow_git_bytes'), mb(num('clone.shallow_git_bytes')), undefined);
  check(sec4, 'squashed (one commit, same tree): clone time', num('clone.squashed_ms'), ms(num('clone.squashed_ms')), undefined);
  check(sec4, 'squashed (one commit, same tree): .git size', num('clone.squashed_git_bytes'), mb(num('clone.squashed_git_bytes')), undefined);
  check(sec4, 'checkout of the working tree (any of the three)', num('clone.checkout_ms'), ms(num('clone.checkout_ms')), undefined);
  check(sec4, 'working tree size', num('clone.worktree_bytes'), mb(num('clone.worktree_bytes')), undefined);
  check(sec4, 'git log -- <one record> (GET /images/:id/history), full clone', num('clone.log_one_ms'), ms(num('clone.log_one_ms')), undefined);
  check(sec4, 'git commit-graph write --reachable --changed-paths', num('clone.commit_graph_write_ms'), ms(num('clone.commit_graph_write_ms')), undefined);
  check(sec4, 'git log -- <one record> with that commit-graph', num('clone.log_one_graph_ms'), ms(num('clone.log_one_graph_ms')), undefined);
  check(sec4, 'then 10 new commits: git fetch into the full clone', num('clone.fetch_full_ms'), ms(num('clone.fetch_full_ms')), undefined);
  check(sec4, 'then 10 new commits: git fetch --depth 1 into the shallow clone', num('clone.fetch_shallow_ms'), ms(num('clone.fetch_shallow_ms')), undefined);
  if (num('clone.extrapolated.full_git_bytes') !== undefined) {
    check(sec4, `extrapolated to ${n(num('clone.extrapolated.commits'))} commits: full clone .git`, num('clone.extrapolated.full_git_bytes'), mb(num('clone.extrapolated.full_git_bytes')), undefined, 'linear in commits');
    check(sec4, `extrapolated to ${n(num('clone.extrapolated.commits'))} commits: full clone time`, num('clone.extrapolated.full_ms'), ms(num('clone.extrapolated.full_ms')), undefined, 'linear in commits');
  }
  // Parts that did not run (BENCH_ONLY) leave their section out.
  const ran = new Set(all.filter((r) => r.measured).map((r) => r.section));
  const rows = all.filter((r) => ran.has(r.section)).map(({ measured: _m, ...r }) => r);
  const errors = get('errors');
  const width = Math.max(...rows.map((r) => r.figure.length));
  const loads = get('meta.loadavg');
  const lines: string[] = [
    `VISOR catalogue-scale benchmark — ${String(get('meta.mode'))} mode, ${String(get('meta.date'))}`,
    `load average before each part: ${loads && typeof loads === 'object' ? Object.entries(loads).map(([k, v]) => `${k} ${String(v)}`).join('; ') : '—'}`,
  ];
  let section = '';
  for (const r of rows) {
    if (r.section !== section) lines.push('', r.section);
    section = r.section;
    lines.push(`  ${r.figure.padEnd(width)}  ${r.value.padStart(22)}  ${r.target.padEnd(9)} ${r.verdict === 'info' ? '' : r.verdict}${r.note ? `  (${r.note})` : ''}`);
  }
  if (Array.isArray(errors) && errors.length > 0) lines.push('', 'problems:', ...errors.map((e) => `  - ${String(e)}`));
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(dirname(outPath), { recursive: true });
  writeFileSync(outPath, `${JSON.stringify({ ...data, checks: rows as unknown as Json }, null, 2)}\n`);
  process.stdout.write(`\nwritten to ${outPath}\n`);
  if (process.env['BENCH_STRICT'] === '1' && rows.some((r) => r.verdict === 'MISS' || r.verdict === 'n/a')) process.exitCode = 1;
}

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'make-pr':
    makePr(rest);
    break;
  case 'upstream-change':
    upstreamChange(rest);
    break;
  case 'sync-timing':
    await syncTiming(rest);
    break;
  case 'static-walk':
    await staticWalk(rest);
    break;
  case 'history':
    await history(rest);
    break;
  case 'report':
    report(rest);
    break;
  default:
    fail(`unknown command ${command ?? ''}; see the comment at the top of catalogScale.ts`);
}

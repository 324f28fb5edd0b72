import { assertMaySync } from '../auth/callerRules.ts';
import type { Principal } from '../auth/Principal.ts';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readFile, rm, mkdir } from 'node:fs/promises';
import type { UpstreamConfig } from '../config/VisorConfig.ts';
import type { CatalogRepository } from '../catalog/CatalogRepositories.ts';
import { GitRunner } from '../git/GitRunner.ts';
import { CatalogCheckRun } from '../catalog/CatalogCheckRun.ts';
import { commitRef } from '../catalog/CatalogTree.ts';
import type { InstanceIdentity } from '../federation/InstanceIdentity.ts';
import { changesBeyondAuthority, type KeptHere } from '../federation/UpstreamAuthority.ts';
import type { TrustPolicy } from '../trust/TrustPolicy.ts';
import { unendorsedChanges, type CatalogVersion, type OnlyEndorsedOutcome } from './OnlyEndorsed.ts';
import { clearSyncInProgress, markSyncInProgress } from '../catalog/CatalogRecovery.ts';
import type { FileProblem } from '../catalog/CatalogScanner.ts';
import type { FieldConflict } from '../catalog/RecordMerge.ts';
import { notFound, tooLarge, unauthenticated } from '../errors/VisorError.ts';
import { FetchQuarantine } from './FetchQuarantine.ts';
import { HeadStatementError, verifyHeadStatement } from '../trust/HeadStatement.ts';
import { parsePublicKeyLine } from '../trust/SshKeys.ts';
import { commitSignatureProblems, firstParentCommits } from './CommitChecks.ts';
import { rollbackProblem, UpstreamHeads } from './UpstreamHeads.ts';
import { UpstreamRootPin, type PinOutcome } from './UpstreamRootPin.ts';
import { bodyHmac, proofNeedsBody, verifyWebhook, type WebhookProof } from './WebhookSignature.ts';
import type { Logger } from '../log/Logger.ts';

export type SyncMode = 'up-to-date' | 'adopted' | 'fast-forward' | 'merge' | 'refused' | 'failed';

export interface SyncConflict extends Partial<FieldConflict> {
  path: string;
  /** What the rule did: upstream's side kept for a field, or for a whole file (modified/deleted). */
  resolution: string;
}

export interface SyncResult {
  upstream: string;
  mode: SyncMode;
  before: string | undefined;
  after: string | undefined;
  /** Image files the sync changed (added, modified, deleted). */
  changed: string[];
  conflicts: SyncConflict[];
  problems: FileProblem[];
  error?: string;
  ms: number;
}

/** Start-up is left to finish first. */
const WARM_AFTER_MS = 2000;

const IDENTITY = { GIT_AUTHOR_NAME: 'visor', GIT_AUTHOR_EMAIL: 'daemon@visor.invalid', GIT_COMMITTER_NAME: 'VISOR daemon', GIT_COMMITTER_EMAIL: 'daemon@visor.invalid' };

/** What an upstream without a webhook secret is checked against: nothing anybody can sign with. */
const UNGUESSABLE = randomBytes(32).toString('hex');

/**
 * Follows upstream catalogues into the shared catalogue. Each sync fetches, then, with the writer
 * holding off every commit, fast-forwards or merges. The documented rule for a conflict between an
 * upstream change and a local edit: upstream wins, field by field (a whole file when one side
 * deleted it); every such case is reported in the result and the log, and the local version stays in
 * history as the merge's first parent, so nothing is lost silently. A result that breaks the
 * catalogue's rules is rolled back and reported.
 */
/** Paths kept as they were here per git run (well under the command line's limit). */
const KEEP_BATCH = 1000;
/** Kept files named in the commit message. */
const KEPT_LISTED = 100;

export class UpstreamFollower {
  private readonly repo: CatalogRepository;
  private readonly identity: InstanceIdentity;
  private readonly git: GitRunner;
  private readonly upstreams: UpstreamConfig[];
  private readonly onChanged: (paths: string[], upstream: string) => Promise<void>;
  private readonly logger: Logger;
  /** The site's trust policy: what an upstream followed only_endorsed must meet. */
  private readonly trustPolicy: TrustPolicy | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();
  /** Upstreams with a webhook-triggered sync waiting for its turn: more notifications meanwhile add none. */
  private readonly notified = new Set<string>();
  /** The head last taken from each upstream: a branch that goes back is refused. */
  private heads: UpstreamHeads | undefined;
  /** The newest trust root accepted from each upstream with a pinned one (`trust_root`). */
  private rootPin: UpstreamRootPin | undefined;
  /** Kept from sync to sync: facts and the last tree listing stay in memory, so a sync costs what changed. */
  private checkRun: Promise<CatalogCheckRun> | undefined;
  /** Told each sync's result (the daemon's metrics), when set. */
  syncObserver: ((result: SyncResult) => void) | undefined;

  constructor(repo: CatalogRepository, identity: InstanceIdentity, upstreams: UpstreamConfig[], onChanged: (paths: string[], upstream: string) => Promise<void>, logger: Logger, trustPolicy?: TrustPolicy) {
    this.trustPolicy = trustPolicy;
    this.repo = repo;
    this.identity = identity;
    this.git = new GitRunner(repo.dir);
    this.upstreams = upstreams;
    this.onChanged = onChanged;
    this.logger = logger;
  }

  get names(): string[] {
    return this.upstreams.map((u) => u.name);
  }

  /**
   * Starts the schedules (each upstream with a non-zero interval is synced that often) and, soon
   * after start-up, lists the catalogue and learns its records' facts in the background: otherwise
   * the first webhook after a start pays for reading every record (~3 s at 100,000).
   */
  start(): void {
    if (this.upstreams.length > 0) {
      const warm = setTimeout(() => void this.warm().catch(() => undefined), WARM_AFTER_MS);
      warm.unref();
      this.timers.push(warm);
    }
    for (const u of this.upstreams) {
      if (u.intervalSeconds === 0) continue;
      const timer = setInterval(() => void this.sync(u.name).catch(() => undefined), u.intervalSeconds * 1000);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const t of this.timers.splice(0)) clearInterval(t);
  }

  /** Stops the schedules, waits for a running sync, and saves what the checks learned. */
  async close(): Promise<void> {
    this.stop();
    await this.running;
    const run = this.checkRun;
    this.checkRun = undefined;
    if (run) await (await run).close();
  }

  private warm(): Promise<void> {
    const next = this.running.then(async () => {
      const head = await this.git.revParse('HEAD');
      this.checkRun ??= CatalogCheckRun.open(this.repo.dir);
      if (head) await (await this.checkRun).prepare(head);
    });
    this.running = next.catch(() => undefined);
    return next;
  }

  /**
   * POST /sync: syncs one upstream by name, or all of them, now (a webhook's target). Admins only: a
   * sync rewrites the shared catalogue.
   */
  async syncNow(who: Principal | undefined, name?: string): Promise<SyncResult[]> {
    const caller = assertMaySync(who);
    const results = await this.sync(name);
    // A failure's text names the upstream's URL (credentials in it, perhaps) and local paths: for
    // admins only; a sync account is told that it failed, and the log keeps the rest.
    return caller.admin ? results : results.map((r) => (r.error === undefined ? r : { ...r, error: 'the sync failed; the daemon log says why' }));
  }

  /**
   * POST /sync/webhooks/<upstream>: a forge's push notification, proven by the upstream's webhook
   * secret (no API key: a forge should hold no admin key). It starts a sync of that upstream and
   * answers at once, as forges give up on slow answers; notifications arriving while one waits are
   * covered by it. An upstream that is unknown or has no secret answers as a wrong proof does (401,
   * after the same work), so the answer tells nobody which upstreams take webhooks.
   */
  async notify(name: string, proof: WebhookProof, body: AsyncIterable<Buffer>, maxBytes: number): Promise<{ upstream: string; sync: 'queued' }> {
    const u = this.upstreams.find((x) => x.name === name && x.webhookSecret !== undefined);
    const secret = u?.webhookSecret ?? UNGUESSABLE;
    let hex: string | undefined;
    if (proofNeedsBody(proof)) {
      const hmac = bodyHmac(secret);
      let bytes = 0;
      for await (const chunk of body) {
        bytes += chunk.length;
        if (bytes > maxBytes) throw tooLarge(`a webhook body is at most ${maxBytes} bytes`);
        hmac.update(chunk);
      }
      hex = hmac.hex();
    }
    if (!u || !verifyWebhook(proof, secret, hex)) throw unauthenticated(`no webhook of upstream ${name} takes this proof: a signature made with its webhook_secret is required`);
    if (!this.notified.has(name)) {
      this.notified.add(name);
      // Cleared when this sync's turn comes: a push after its fetch starts needs a sync of its own.
      void this.running.then(() => this.notified.delete(name));
      this.sync(name).catch(() => undefined);
    }
    return { upstream: name, sync: 'queued' };
  }

  /** Syncs one upstream by name, or all of them; syncs never overlap. */
  private sync(name?: string): Promise<SyncResult[]> {
    const chosen = name === undefined ? this.upstreams : this.upstreams.filter((u) => u.name === name);
    if (name !== undefined && chosen.length === 0) return Promise.reject(notFound(`upstream ${name}`));
    const next = this.running.then(async () => {
      const results: SyncResult[] = [];
      for (const u of chosen) results.push(await this.syncOne(u));
      return results;
    });
    this.running = next.catch(() => undefined);
    return next;
  }

  private async syncOne(u: UpstreamConfig): Promise<SyncResult> {
    const started = performance.now();
    const result: SyncResult = { upstream: u.name, mode: 'up-to-date', before: undefined, after: undefined, changed: [], conflicts: [], problems: [], ms: 0 };
    const phases: Record<string, number> = {};
    const phase = async (name: string, work: () => Promise<unknown>) => {
      const t = performance.now();
      await work();
      phases[name] = Math.round(performance.now() - t);
    };
    try {
      // No tracking ref: what a sync refuses must not stay reachable from any ref (the Git endpoint
      // serves branches only, but a ref would keep refused objects for good). The merged history
      // itself is what the next fetch negotiates from. Refs older versions kept are dropped.
      let theirs = '';
      let quarantine: FetchQuarantine | undefined;
      await phase('fetch', async () => {
        quarantine = await FetchQuarantine.open(this.git, await this.gitDir());
        theirs = await quarantine.fetch(u.url, u.branch, { headStatement: u.headKey !== undefined });
        await this.dropTrackingRefs(u.name);
      });
      this.heads ??= new UpstreamHeads(await this.gitDir());
      const last = await this.heads.last(u.name);
      try {
        const stale = u.headKey === undefined ? undefined : await this.staleHead(u, u.headKey, quarantine!, theirs);
        let pinned: PinOutcome | undefined;
        if (stale) {
          result.mode = 'refused';
          result.problems = [stale];
        } else if (last !== undefined && last !== theirs && !(await quarantine!.isAncestor(last, theirs))) {
          result.mode = 'refused';
          result.problems = [rollbackProblem(u.name, u.branch, last, theirs)];
        } else if (u.signedCommits && (result.problems = await this.unsignedCommits(u, quarantine!, theirs, last)).length > 0) {
          result.mode = 'refused';
        } else if ((pinned = await this.pinnedRoot(u, quarantine!, theirs))?.problem) {
          result.mode = 'refused';
          result.problems = [pinned.problem];
        } else {
          await phase('integrate', () => this.repo.writer.exclusive(() => this.integrate(u, quarantine!, theirs, result, phase)));
          if (result.mode !== 'refused') {
            await this.heads.taken(u.name, theirs);
            if (u.trustRoot && pinned?.offered) await this.rootPin!.accepted(u.name, u.trustRoot, pinned.offered);
          }
        }
      } finally {
        await quarantine?.empty();
      }
      if (result.changed.length > 0) await phase('reload', () => this.onChanged(result.changed, u.name));
    } catch (error) {
      if (error instanceof HeadStatementError) {
        // An upstream with a pinned key that publishes no statement: refused like a bad one.
        result.mode = 'refused';
        result.problems = [{ file: '(history)', field: '(head)', rule: error.rule, expected: 'a signed head statement beside the branch', message: `upstream ${u.name}: ${error.message}` }];
      } else {
        result.mode = 'failed';
        result.error = (error as Error).message;
      }
    }
    result.ms = Math.round(performance.now() - started);
    const level = result.mode === 'failed' || result.mode === 'refused' || result.conflicts.length > 0 ? 'warn' : 'info';
    this.logger[level]({ upstream: u.name, mode: result.mode, changed: result.changed.length, conflicts: result.conflicts, problems: result.problems.length, ...(result.problems.length > 0 ? { why: result.problems.slice(0, 3).map((p) => `${p.rule}: ${p.message.slice(0, 300)}`) } : {}), error: result.error, ms: result.ms, phases }, 'upstream sync');
    this.syncObserver?.(result);
    return result;
  }

  /** With signed_commits: the commits the upstream brings on its branch's first-parent line since the head last taken, each signed by its pinned key (or commit_keys). */
  private async unsignedCommits(u: UpstreamConfig, quarantine: FetchQuarantine, theirs: string, last: string | undefined): Promise<FileProblem[]> {
    if (last === theirs) return [];
    const commits = await firstParentCommits(new GitRunner(quarantine.dir), theirs, last);
    const allowed = [u.headKey!, ...(u.commitKeys ?? [])].map((line) => parsePublicKeyLine(line));
    return commitSignatureProblems(quarantine.dir, commits, allowed, `upstream ${u.name}`);
  }

  /**
   * With the upstream's key pinned, what is wrong with what it offers, if anything: its signed head
   * statement must verify with that key and be unexpired (else the upstream, or whatever serves its
   * copy, has stopped moving: a freeze), and the branch must contain the head it signs (else the copy
   * is older than the upstream itself says it is).
   */
  private async staleHead(u: UpstreamConfig, headKey: string, quarantine: FetchQuarantine, theirs: string): Promise<FileProblem | undefined> {
    const refuse = (rule: string, message: string, expected: string): FileProblem => ({ file: '(history)', field: '(head)', rule, expected, message: `upstream ${u.name}: ${message}` });
    const expected = `a head statement signed by the pinned key ${parsePublicKeyLine(headKey).fingerprint}, unexpired, whose head the branch contains`;
    try {
      const statement = verifyHeadStatement(await quarantine.headStatement(), parsePublicKeyLine(headKey), { branch: u.branch, now: new Date() });
      if (statement.head !== theirs && !(await quarantine.isAncestor(statement.head, theirs))) {
        return refuse('head-behind', `its branch ${u.branch} is at ${theirs.slice(0, 12)}, which does not contain ${statement.head.slice(0, 12)}, the head it signed at ${statement.issued_at}: a stale or forked copy is refused`, expected);
      }
      return undefined;
    } catch (error) {
      if (error instanceof HeadStatementError) return refuse(error.rule, error.message, expected);
      throw error;
    }
  }

  /** With the upstream's trust roots pinned (`trust_root`), whether the root it offers descends from them. */
  private async pinnedRoot(u: UpstreamConfig, quarantine: FetchQuarantine, theirs: string): Promise<PinOutcome | undefined> {
    if (u.trustRoot === undefined) return undefined;
    this.rootPin ??= new UpstreamRootPin(await this.gitDir());
    return this.rootPin.check({ name: u.name, branch: u.branch, trustRoot: u.trustRoot }, quarantine.dir, theirs);
  }

  private async gitDir(): Promise<string> {
    return (await this.git.run(['rev-parse', '--absolute-git-dir'])).stdout.trim();
  }

  /** Removes refs/remotes/<upstream>/*, which earlier versions kept for each upstream. */
  private async dropTrackingRefs(upstream: string): Promise<void> {
    const refs = (await this.git.run(['for-each-ref', '--format=%(refname)', `refs/remotes/${upstream}/`])).stdout.split('\n').filter(Boolean);
    for (const ref of refs) await this.git.run(['update-ref', '-d', ref]);
  }

  private async integrate(u: UpstreamConfig, quarantine: FetchQuarantine, theirs: string, result: SyncResult, phase: (name: string, work: () => Promise<unknown>) => Promise<void>): Promise<void> {
    const before = (await this.git.revParse('HEAD'))!;
    result.before = before;
    result.after = before;
    if (await quarantine.isAncestor(theirs, before)) return;
    this.checkRun ??= CatalogCheckRun.open(this.repo.dir);
    const run = await this.checkRun;
    // Every commit the upstream brings, file by file, before the branch moves at all: what they hold
    // (a private record, a symlink, a huge blob) is never served, not even while the sync runs.
    let incoming: FileProblem[] = [];
    await phase('history', async () => (incoming = await run.history(`${before}..${theirs}`, { publicOnly: true }, quarantine.dir)));
    if (incoming.length > 0) {
      result.mode = 'refused';
      result.problems = incoming;
      return;
    }
    await phase('accept', () => quarantine.accept());
    const gitDir = await this.gitDir();
    const report = join(gitDir, 'visor', 'merge-report.jsonl');
    await mkdir(join(gitDir, 'visor'), { recursive: true });
    await rm(report, { force: true });
    // Durable before the branch moves: a crash before the checks end is undone at the next start.
    await markSyncInProgress(gitDir, before);
    try {
      await this.mergeChecked(u, theirs, before, result, report, run, phase);
    } catch (error) {
      // A check that failed (not one that refused) must not leave unchecked commits served either.
      await this.git.run(['reset', '--quiet', '--hard', before]);
      result.after = before;
      throw error;
    } finally {
      await clearSyncInProgress(gitDir);
    }
  }

  /** Merges what the history check let through, then holds the result to the rules across records. */
  private async mergeChecked(u: UpstreamConfig, theirs: string, before: string, result: SyncResult, report: string, run: CatalogCheckRun, phase: (name: string, work: () => Promise<unknown>) => Promise<void>): Promise<void> {
    if (await this.isAncestor(before, theirs)) {
      await phase('merge', () => this.git.run(['merge', '--ff-only', '--quiet', theirs]));
      result.mode = 'fast-forward';
    } else if ((await this.git.run(['rev-list', '--count', 'HEAD'])).stdout.trim() === '1') {
      // A fresh instance (only its creation commit, never an image of its own) takes the upstream's
      // history as its own, so later syncs fast-forward instead of merging forever.
      await this.git.run(['reset', '--quiet', '--hard', theirs]);
      result.mode = 'adopted';
    } else {
      result.mode = 'merge';
      const env = { ...IDENTITY, VISOR_MERGE_PREFER: 'theirs', VISOR_MERGE_REPORT: report };
      // Unrelated histories are the normal first sync: this instance's catalogue began on its own.
      const merged = await this.git.run(['merge', '--no-ff', '--no-edit', '--allow-unrelated-histories', '-m', `Merge upstream ${u.name} (${u.branch})`, theirs], { env }).then(
        () => true,
        () => false,
      );
      if (!merged) await this.resolveWholeFiles(theirs, result, env);
      for (const line of (await readFile(report, 'utf8').catch(() => '')).split('\n').filter(Boolean)) {
        const c = JSON.parse(line) as FieldConflict & { path: string };
        result.conflicts.push({ ...c, resolution: c.kept ? `kept ${c.kept === 'theirs' ? 'upstream' : 'local'} value` : 'unresolved' });
      }
    }
    // The shared catalogue is what this instance serves to mirrors and pushes upstream: a private
    // record arriving from an upstream must not settle in it, whatever that upstream's config says.
    let after = (await this.git.revParse('HEAD'))!;
    let checked: Awaited<ReturnType<CatalogCheckRun['check']>> | undefined;
    await phase('check', async () => (checked = await run.check(commitRef(before), commitRef(after), { publicOnly: true })));
    // What the upstream may not change stays as it is here; the rest is judged again without it.
    let kept: KeptHere[] = [];
    await phase('authority', async () => {
      const merged = after;
      const versions = { before: (path: string) => run.record(before, path), after: (path: string) => run.factsAt(merged, path) };
      kept = await changesBeyondAuthority(u.name, checked!.changes, versions, this.identity);
    });
    if (kept.length > 0) {
      await this.keepHere(u, before, kept, result);
      after = (await this.git.revParse('HEAD'))!;
      await phase('recheck', async () => (checked = await run.check(commitRef(before), commitRef(after), { publicOnly: true })));
    }
    // Followed only_endorsed: what the site's trust policy does not accept is not taken.
    if (u.onlyEndorsed) {
      let outcome: OnlyEndorsedOutcome = { kept: [], taken: [] };
      await phase('endorsed', async () => (outcome = await unendorsedChanges(u.name, checked!.changes, this.versionAt(run, after), this.versionAt(run, theirs), this.trustPolicy)));
      if (outcome.taken.length > 0) {
        // Records an earlier sync did not take, endorsed now: a merge would keep them deleted here.
        await this.git.run(['checkout', theirs, '--', ...outcome.taken]);
        await this.git.run(['commit', '--quiet', '--no-verify', '-m', `Take ${outcome.taken.length} image(s) upstream ${u.name} now endorses`, '-m', outcome.taken.join('\n')], { env: { ...IDENTITY } });
      }
      await this.keepHere(u, before, outcome.kept, result);
      if (outcome.taken.length > 0 || outcome.kept.length > 0) {
        after = (await this.git.revParse('HEAD'))!;
        await phase('recheck', async () => (checked = await run.check(commitRef(before), commitRef(after), { publicOnly: true })));
      }
    }
    // An image the upstream deleted that an image here still names as its kernel or ramdisk stays,
    // as a deletion here would have been refused: the catalogue keeps no dangling reference.
    const referenced = [...new Map(checked!.problems.filter((p) => p.rule === 'referenced' && checked!.changes.deleted.includes(p.file)).map((p) => [p.file, p])).values()];
    if (referenced.length > 0) {
      await this.keepHere(u, before, referenced.map((p) => ({ path: p.file, resolution: `kept though upstream ${u.name} deleted it: it ${p.message.replace(/^cannot be deleted: it /, '')}` })), result);
      after = (await this.git.revParse('HEAD'))!;
      await phase('recheck', async () => (checked = await run.check(commitRef(before), commitRef(after), { publicOnly: true })));
    }
    const { changes, problems } = checked!;
    if (problems.length > 0) {
      await this.git.run(['reset', '--quiet', '--hard', before]);
      result.mode = 'refused';
      result.problems = problems;
      return;
    }
    result.after = await this.signLocalCommits(before, theirs, after);
    result.changed = [...changes.added, ...changes.modified, ...changes.deleted].filter((p) => p.startsWith('images/'));
  }

  /**
   * The commits this sync made here (a merge, files kept or taken), signed by the instance key as
   * its writes are, once the checks let them stand: the branch moves to the signed copies (same
   * trees). The upstream's own commits are never rewritten: they keep their ids and signatures.
   */
  private async signLocalCommits(before: string, theirs: string, after: string): Promise<string> {
    const signer = this.repo.writer.commitSigner;
    if (!signer || after === before) return after;
    const local = (await this.git.run(['rev-list', '--first-parent', '--reverse', after, `^${before}`, `^${theirs}`])).stdout.split('\n').filter(Boolean);
    if (local.length === 0) return after;
    const signed = (await signer.sign(local)).at(-1)!;
    await this.git.run(['update-ref', '-m', 'visor: signed sync commits', 'HEAD', signed, after]);
    return signed;
  }

  /**
   * Puts files back as they were before the sync (absent, if they were) in a commit of its own, so
   * the upstream's version stays in history beside this instance's decision, and reports each.
   */
  private async keepHere(u: UpstreamConfig, before: string, kept: KeptHere[], result: SyncResult): Promise<void> {
    if (kept.length === 0) return;
    // A few git runs per thousand paths, not two per path: a sync may keep out thousands (only_endorsed).
    for (let from = 0; from < kept.length; from += KEEP_BATCH) {
      const paths = kept.slice(from, from + KEEP_BATCH).map((k) => k.path);
      const existed = new Set((await this.git.run(['ls-tree', '-r', '-z', '--name-only', before, '--', ...paths])).stdout.split('\0').filter(Boolean));
      const restore = paths.filter((p) => existed.has(p));
      const remove = paths.filter((p) => !existed.has(p));
      if (restore.length > 0) await this.git.run(['checkout', before, '--', ...restore]);
      if (remove.length > 0) await this.git.run(['rm', '--quiet', '--', ...remove]);
    }
    result.conflicts.push(...kept);
    const env = { ...IDENTITY };
    // The message names the first files kept: one argument must stay under the kernel's 128 KiB.
    const listed = kept.slice(0, KEPT_LISTED).map((k) => `${k.path}: ${k.resolution.slice(0, 500)}`);
    if (kept.length > KEPT_LISTED) listed.push(`and ${kept.length - KEPT_LISTED} more (see the sync's result)`);
    await this.git.run(['commit', '--quiet', '--no-verify', '-m', `Keep ${kept.length} file(s) as they were here against upstream ${u.name}`, '-m', listed.join('\n')], { env });
  }

  /** A commit's files, as the only_endorsed rule reads them: its statements listed once, texts through the run's object reader. */
  private versionAt(run: CatalogCheckRun, commit: string): CatalogVersion {
    let statements: Promise<Map<string, string[]>> | undefined;
    const listAll = async () => {
      const byFolder = new Map<string, string[]>();
      for (const path of (await this.git.run(['ls-tree', '-r', '-z', '--name-only', commit, '--', 'endorsements/'])).stdout.split('\0').filter(Boolean)) {
        const cut = path.lastIndexOf('/');
        const names = byFolder.get(path.slice(0, cut));
        if (names) names.push(path.slice(cut + 1));
        else byFolder.set(path.slice(0, cut), [path.slice(cut + 1)]);
      }
      return byFolder;
    };
    return {
      text: (path) => run.text(commit, path),
      list: async (folder) => (await (statements ??= listAll())).get(folder) ?? [],
    };
  }

  /** The rule for what the field merge cannot settle (one side deleted, or a file that is not JSON): upstream's version. */
  private async resolveWholeFiles(theirs: string, result: SyncResult, env: Record<string, string>): Promise<void> {
    const unmerged = (await this.git.run(['diff', '--name-only', '--diff-filter=U', '-z'])).stdout.split('\0').filter(Boolean);
    for (const path of unmerged) {
      const inTheirs = await this.git.run(['cat-file', '-e', `${theirs}:${path}`]).then(() => true, () => false);
      if (inTheirs) {
        await this.git.run(['checkout', '--theirs', '--', path]);
        await this.git.run(['add', '--', path]);
      } else {
        await this.git.run(['rm', '--quiet', '--', path]);
      }
      result.conflicts.push({ path, resolution: inTheirs ? 'kept the upstream file' : 'deleted, as upstream did' });
    }
    await this.git.run(['commit', '--quiet', '--no-edit', '--no-verify'], { env });
  }

  private async isAncestor(a: string, b: string): Promise<boolean> {
    return this.git.run(['merge-base', '--is-ancestor', a, b]).then(() => true, () => false);
  }
}

import { DatabaseSync } from 'node:sqlite';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { gitDirOf } from '../git/gitDirOf.ts';
import type { VisorConfig } from '../config/VisorConfig.ts';
import type { Logger } from '../log/Logger.ts';
import { conflict, unavailable } from '../errors/VisorError.ts';

/*
 * Why an SQLite database as the lock: it is the one OS lock Node 24 offers without a native addon.
 * node:sqlite holds an fcntl (POSIX) lock on the file for as long as the connection is open, so:
 * - the kernel drops it when the holder dies, even by `kill -9`: no stale lock to judge, no wait;
 * - it is held by a live process or not at all, so a reused PID cannot fool it (a PID file plus a
 *   liveness check can be, and needs a take-over protocol of its own);
 * - a paused or busy holder keeps it: proper-lockfile (mkdir + an mtime refreshed by a timer) deems
 *   a lock stale after `stale` ms (10 s by default) without a refresh, so a first start's scan that
 *   holds the event loop, a SIGSTOP or a suspended VM would let a second daemon in; and after a
 *   `kill -9` it makes the next start wait out that time;
 * - fcntl locks are not inherited by children (a `git fast-import` outliving a killed daemon holds
 *   nothing, where it would keep an inherited flock), and work on NFS through its lock manager;
 * - SQLite keeps one lock per file within a process across connections, so two daemons in one
 *   process (the tests') exclude each other too.
 * The lock says nothing about its holder while held, so the holder also writes a small record beside
 * it (PID, host, start, address), for the refusal message and the log line of a take-over.
 */

/** The locked file and the holder's record, in every directory a daemon guards. */
// Not `*.lock`: a start removes those from a catalogue's git directory as git's own stale locks.
const LOCK_FILE = 'visor-daemon.lck';
const HOLDER_FILE = 'visor-daemon.holder.json';

/** What a daemon writes about itself beside the lock it holds. */
export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  /** The address it serves, once it listens. */
  url?: string;
}

interface Guarded {
  /** What the lock guards, as an operator names it. */
  what: string;
  dir: string;
}

interface HeldLock extends Guarded {
  /** Where the lock files are: the guarded folder itself, or a catalogue's git directory. */
  place: string;
  db: DatabaseSync;
}

/**
 * One daemon per data directory, and per catalogue wherever catalog.path and private_path point:
 * a second daemon would commit over the first's writes (marking its in-flight upload `error`, say).
 * A catalogue's lock lives in its git directory, out of its tree and history. One that does not
 * exist yet is locked as soon as this start has created it (coverCatalogues), before any commit.
 */
export class DataDirectoryLock {
  private readonly held: HeldLock[] = [];
  /** Catalogues that do not exist yet: locked once this start has created them. */
  private readonly pending: Guarded[] = [];
  private readonly holder: LockHolder;
  private readonly logger: Logger;

  private constructor(holder: LockHolder, logger: Logger) {
    this.holder = holder;
    this.logger = logger;
  }

  /**
   * Takes the data directory's lock and each existing catalogue's; refuses (a conflict naming the
   * holder) when another daemon holds one, having changed nothing. A lock left by a daemon that died
   * is taken over, and the log says whose it was.
   */
  static acquire(config: VisorConfig, logger: Logger): DataDirectoryLock {
    const holder: LockHolder = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    const lock = new DataDirectoryLock(holder, logger);
    releaseAtExit(lock);
    try {
      // The data directory is made only if missing; VisorCore.open sets its mode at every start.
      mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
      lock.take({ what: 'data directory', dir: config.dataDir }, config.dataDir);
      for (const catalogue of catalogues(config)) {
        const place = gitDirOf(catalogue.dir);
        if (place) lock.take(catalogue, place);
        else lock.pending.push(catalogue);
      }
    } catch (error) {
      lock.release();
      throw error;
    }
    return lock;
  }

  /** Locks the catalogues this start created; call once they exist, before anything commits to them. */
  coverCatalogues(): void {
    for (const catalogue of this.pending.splice(0)) {
      const place = gitDirOf(catalogue.dir);
      if (!place) throw unavailable(`${catalogue.what} ${catalogue.dir} is not a git repository after opening it`);
      this.take(catalogue, place);
    }
  }

  /** Records the address this daemon serves, for the message a second daemon prints. */
  announce(url: string): void {
    this.holder.url = url;
    for (const lock of this.held) writeHolder(lock.place, this.holder);
  }

  /** Gives every lock up; the holder records go first, so none is left naming a daemon that stopped. */
  release(): void {
    live.delete(this);
    for (const lock of this.held.splice(0).reverse()) {
      try {
        unlinkSync(join(lock.place, HOLDER_FILE));
      } catch {
        // Already gone: nothing to remove.
      }
      lock.db.close();
    }
  }

  private take(guarded: Guarded, place: string): void {
    // Two names for one folder (a catalogue inside the data directory named twice) need one lock.
    if (this.held.some((h) => h.place === place)) return;
    const file = join(place, LOCK_FILE);
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(file);
    } catch (error) {
      throw unavailable(`cannot open the lock file ${file}: ${(error as Error).message}`, error);
    }
    try {
      // Exclusive locking mode keeps the lock after the (empty) transaction, until close or death;
      // the journal stays in memory, so a lock is one file.
      db.exec('PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=MEMORY; BEGIN EXCLUSIVE; COMMIT');
    } catch (error) {
      db.close();
      if (isBusy(error)) throw conflict(refusal(guarded, readHolder(place)));
      throw unavailable(`cannot lock ${file}: ${(error as Error).message}`, error);
    }
    this.held.push({ ...guarded, place, db });
    try {
      chmodSync(file, 0o600);
    } catch {
      // Another account's file (a shared group's folder): it holds nothing, its mode does not matter.
    }
    const previous = readHolder(place);
    if (previous) {
      // A clean stop removes its record: one still here belongs to a daemon that died holding the lock.
      this.logger.warn(
        { [guarded.what.replaceAll(' ', '_')]: guarded.dir, previous },
        `took over the lock of ${guarded.what} ${guarded.dir} from VISOR daemon PID ${previous.pid}${previous.host === this.holder.host ? '' : ` on ${previous.host}`}, which stopped without releasing it (killed or crashed)`,
      );
    }
    // A record half-written by a holder that died then (the lock is ours: no one else writes here).
    for (const name of readdirSync(place)) if (name.startsWith(`${HOLDER_FILE}.`) && name.endsWith('.tmp')) rmSync(join(place, name), { force: true });
    writeHolder(place, this.holder);
  }
}

/** Locks held in this process, released at any exit (a second signal's process.exit included), so none leaves a holder record behind. */
const live = new Set<DataDirectoryLock>();
let releasingAtExit = false;

function releaseAtExit(lock: DataDirectoryLock): void {
  if (!releasingAtExit) {
    process.on('exit', () => {
      for (const held of [...live]) held.release();
    });
    releasingAtExit = true;
  }
  live.add(lock);
}

function catalogues(config: VisorConfig): Guarded[] {
  return [
    { what: 'catalogue', dir: config.catalog.path },
    { what: 'private catalogue', dir: config.catalog.privatePath },
  ];
}

/** A repository's git directory: `.git`, or where a `.git` file (a worktree, a submodule) points. */
function isBusy(error: unknown): boolean {
  // SQLITE_BUSY: another connection, in this process or another, holds the lock.
  return (error as { errcode?: number }).errcode === 5;
}

function readHolder(place: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(join(place, HOLDER_FILE), 'utf8')) as Partial<LockHolder>;
    return typeof parsed.pid === 'number' ? (parsed as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

function writeHolder(place: string, holder: LockHolder): void {
  // Whole or not at all: a second daemon may read it at any moment. A new file of an unguessable
  // name ('wx'): nothing planted at that name (a link elsewhere) is written through.
  const temp = join(place, `${HOLDER_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  writeFileSync(temp, `${JSON.stringify(holder)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temp, join(place, HOLDER_FILE));
}

function refusal(guarded: Guarded, holder: LockHolder | undefined): string {
  const who = holder
    ? `VISOR daemon PID ${holder.pid}${holder.host === hostname() ? '' : ` on host ${holder.host}`}${holder.url ? `, serving ${holder.url}` : ''} (started ${holder.started})`
    : 'another VISOR daemon (it has not recorded its PID yet)';
  return `${guarded.what} ${guarded.dir} is in use by ${who}: one daemon per data directory and catalogue; stop that daemon first, or give this one its own data_dir`;
}

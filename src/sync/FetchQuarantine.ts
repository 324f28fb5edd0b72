import { existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitError, GitRunner } from '../git/GitRunner.ts';
import { HEAD_STATEMENT_REF, HeadStatementError } from '../trust/HeadStatement.ts';

/** Where a sync's fetch lands, under the catalogue's git directory. */
const QUARANTINE = join('visor', 'quarantine.git');
/** The ref the accepted commit is handed over by (local to the quarantine, never served). */
const INCOMING = 'refs/heads/incoming';
/** The upstream's signed head statement, fetched with its branch. */
const INCOMING_STATEMENT = 'refs/visor/incoming-head';
/** The largest head statement read (a real one is under 1 KiB). */
const MAX_STATEMENT_BYTES = 8 * 1024;

/**
 * An upstream's objects wait outside the catalogue until a sync accepts them, as git's own
 * receive-pack does with a push: the fetch goes into a bare repository of its own, which sees the
 * catalogue's objects through `alternates` (so the fetch negotiates from everything the catalogue
 * has, and brings only what is new), while the catalogue sees nothing of it. The history checks run
 * there; only an accepted commit's objects are then copied into the catalogue (a local fetch). A
 * refused or failed sync leaves nothing of the upstream in the catalogue's object database, not even
 * unreachable objects, and the next sync empties the quarantine first, whatever a crash left there.
 */
export class FetchQuarantine {
  private readonly catalogue: GitRunner;
  private readonly gitDir: string;
  /** The quarantine repository: what reads the fetched objects (the history checks) works here. */
  readonly dir: string;
  private readonly git: GitRunner;

  private constructor(catalogue: GitRunner, gitDir: string, dir: string) {
    this.catalogue = catalogue;
    this.gitDir = gitDir;
    this.dir = dir;
    this.git = new GitRunner(dir);
  }

  /** Opens (creating it the first time) the quarantine of the catalogue whose git directory is given, empty. */
  static async open(catalogue: GitRunner, gitDir: string): Promise<FetchQuarantine> {
    const dir = join(gitDir, QUARANTINE);
    const q = new FetchQuarantine(catalogue, gitDir, dir);
    if (!existsSync(join(dir, 'HEAD'))) {
      await mkdir(dir, { recursive: true });
      await q.git.run(['init', '--quiet', '--bare']);
    }
    await mkdir(join(dir, 'objects', 'info'), { recursive: true });
    await writeFile(join(dir, 'objects', 'info', 'alternates'), `${join(gitDir, 'objects')}\n`);
    await q.empty();
    return q;
  }

  /**
   * Fetches the upstream's branch into the quarantine: its commit id. Kept as one pack however few
   * objects come (no loose objects), so that accepting them is a rename.
   */
  async fetch(url: string, branch: string, options: { headStatement?: boolean } = {}): Promise<string> {
    const refspecs = [`+refs/heads/${branch}:${INCOMING}`];
    // In the same fetch as the branch: one look at the upstream, so the two agree in time.
    if (options.headStatement) refspecs.push(`+${HEAD_STATEMENT_REF}:${INCOMING_STATEMENT}`);
    try {
      await this.git.run(['-c', 'fetch.unpackLimit=1', '-c', 'transfer.unpackLimit=1', 'fetch', '--quiet', '--no-tags', '--no-write-fetch-head', url, ...refspecs]);
    } catch (error) {
      if (options.headStatement && error instanceof GitError && error.stderr.includes(HEAD_STATEMENT_REF)) {
        throw new HeadStatementError('head-statement', `the upstream publishes no signed head statement (${HEAD_STATEMENT_REF}); is it a VISOR instance, and does the URL lead to it rather than to a plain copy?`);
      }
      throw error;
    }
    return (await this.git.revParse(INCOMING))!;
  }

  /** The text of the head statement fetched with the branch (src/trust/HeadStatement.ts). */
  async headStatement(): Promise<string> {
    const oid = await this.git.revParse(INCOMING_STATEMENT);
    const fail = (why: string) => new HeadStatementError('head-statement', `the upstream's ${HEAD_STATEMENT_REF} ${why}`);
    if (oid === undefined) throw fail('was not fetched');
    const [type, size] = (await this.git.run(['cat-file', '--batch-check=%(objecttype) %(objectsize)'], { input: `${oid}\n` })).stdout.trim().split(' ');
    if (type !== 'blob') throw fail(`is a ${type ?? 'missing object'}, not a blob`);
    if (Number(size) > MAX_STATEMENT_BYTES) throw fail(`is ${size} bytes, more than a statement's ${MAX_STATEMENT_BYTES}`);
    return (await this.git.run(['cat-file', 'blob', oid])).stdout;
  }

  async isAncestor(older: string, newer: string): Promise<boolean> {
    return this.git.run(['merge-base', '--is-ancestor', older, newer]).then(() => true, () => false);
  }

  /**
   * Moves the fetched objects into the catalogue, as git's receive-pack does with a push's quarantine:
   * each pack is renamed into the catalogue's pack folder (its .idx last, since a pack is used once
   * its index is there). Only objects the catalogue lacked were fetched, so nothing is copied. Loose
   * objects (none are expected: the fetch keeps one pack) are handed over by a local fetch instead.
   */
  async accept(): Promise<void> {
    const from = join(this.dir, 'objects', 'pack');
    const to = join(this.gitDir, 'objects', 'pack');
    const files = await readdir(from).catch(() => [] as string[]);
    const order = (name: string) => (name.endsWith('.idx') ? 2 : name.endsWith('.pack') ? 0 : 1);
    for (const name of files.filter((f) => /^pack-[0-9a-f]+\.(pack|rev|idx)$/.test(f)).sort((a, b) => order(a) - order(b))) {
      await rename(join(from, name), join(to, name));
    }
    const loose = (await readdir(join(this.dir, 'objects')).catch(() => [] as string[])).some((d) => /^[0-9a-f]{2}$/.test(d));
    if (loose) await this.catalogue.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', this.dir, INCOMING]);
  }

  /** Drops everything fetched: the ref, the packs, loose objects. */
  async empty(): Promise<void> {
    await this.git.run(['update-ref', '-d', INCOMING]).catch(() => undefined);
    await this.git.run(['update-ref', '-d', INCOMING_STATEMENT]).catch(() => undefined);
    const objects = join(this.dir, 'objects');
    for (const entry of await readdir(objects).catch(() => [] as string[])) {
      if (entry === 'info') continue;
      await rm(join(objects, entry), { recursive: true, force: true });
    }
  }
}

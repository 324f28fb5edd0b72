import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';

/** Where a sync's fetch lands, under the catalogue's git directory. */
const QUARANTINE = join('visor', 'quarantine.git');
/** The ref the accepted commit is handed over by (local to the quarantine, never served). */
const INCOMING = 'refs/heads/incoming';

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
  /** The quarantine repository: what reads the fetched objects (the history checks) works here. */
  readonly dir: string;
  private readonly git: GitRunner;

  private constructor(catalogue: GitRunner, dir: string) {
    this.catalogue = catalogue;
    this.dir = dir;
    this.git = new GitRunner(dir);
  }

  /** Opens (creating it the first time) the quarantine of the catalogue whose git directory is given, empty. */
  static async open(catalogue: GitRunner, gitDir: string): Promise<FetchQuarantine> {
    const dir = join(gitDir, QUARANTINE);
    const q = new FetchQuarantine(catalogue, dir);
    await mkdir(dir, { recursive: true });
    await q.git.run(['init', '--quiet', '--bare']);
    await mkdir(join(dir, 'objects', 'info'), { recursive: true });
    await writeFile(join(dir, 'objects', 'info', 'alternates'), `${join(gitDir, 'objects')}\n`);
    await q.empty();
    return q;
  }

  /** Fetches the upstream's branch into the quarantine: its commit id. */
  async fetch(url: string, branch: string): Promise<string> {
    await this.git.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', url, `+refs/heads/${branch}:${INCOMING}`]);
    return (await this.git.revParse(INCOMING))!;
  }

  async isAncestor(older: string, newer: string): Promise<boolean> {
    return this.git.run(['merge-base', '--is-ancestor', older, newer]).then(() => true, () => false);
  }

  /** Copies what the accepted commit needs into the catalogue. */
  async accept(): Promise<void> {
    await this.catalogue.run(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', this.dir, INCOMING]);
  }

  /** Drops everything fetched: the ref, the packs, loose objects. */
  async empty(): Promise<void> {
    await this.git.run(['update-ref', '-d', INCOMING]).catch(() => undefined);
    const objects = join(this.dir, 'objects');
    for (const entry of await readdir(objects).catch(() => [] as string[])) {
      if (entry === 'info') continue;
      await rm(join(objects, entry), { recursive: true, force: true });
    }
  }
}

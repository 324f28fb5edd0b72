import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { simpleGit } from 'simple-git';
import { CATALOG_CONFIG_FILE, IMAGES_DIR, SCHEMA_VERSION, VENDORED_CHECKER } from './CatalogLayout.ts';
import { conflict, notFound } from '../errors/VisorError.ts';
import { GitRunner } from '../git/GitRunner.ts';
import type { Visibility } from './CatalogVisibility.ts';
import { mergeDriverConfig } from './HookInstaller.ts';
import { writeCiFiles } from './CatalogCiFiles.ts';

/** Image records merge field by field (`visor catalog merge-driver`), not line by line. */
const GITATTRIBUTES = 'images/**/*.json merge=visor-json\n';

const DAEMON_IDENTITY = { GIT_AUTHOR_NAME: 'visor', GIT_AUTHOR_EMAIL: 'daemon@visor.invalid', GIT_COMMITTER_NAME: 'VISOR daemon', GIT_COMMITTER_EMAIL: 'daemon@visor.invalid' };

const PUBLISHERS_README = `# VISOR image catalogue

Every image is one JSON file, \`images/<first two characters of the id>/<id>.json\`, valid against the
VISOR image schema (catalog-schema/image.schema.json, version ${SCHEMA_VERSION}). Git history is the audit trail.

- Propose an image by pull request; \`node ${VENDORED_CHECKER} validate --base origin/main\` runs the
  checks CI runs, with nothing but Node (20 or later) and git (or \`visor catalog validate\`, the same).
- Fields marked read-only in the schema (id, status, size, checksum, owner, timestamps) are set by a VISOR daemon.
- Extra key/value pairs go under \`properties\`.
- Endorsements are signed statements about an image's bytes, under \`endorsements/\`, by the endorsers
  \`trust/endorsers.json\` lists with their SSH keys: \`visor endorse ID --key ~/.ssh/id_ed25519 --claim tested\`
  writes one for a pull request; \`ssh-keygen -Y verify\` checks one (namespace visor-endorsement).
`;

/**
 * Repository settings every catalogue gets: durable commits (objects, refs and index fsynced before a
 * write is acknowledged) and git's many-files mode (index v4, untracked cache) for 100,000-file trees.
 */
const REPO_CONFIG: ReadonlyArray<[string, string]> = [
  ['core.fsync', 'committed,index'],
  // Not 'batch': git promises that is as safe as fsync only on macOS and Windows file systems.
  ['core.fsyncMethod', 'fsync'],
  ['feature.manyFiles', 'true'],
  ['gc.auto', '0'],
];


/**
 * Creates a new catalogue: a git repository with a README, the catalogue config and an images/
 * folder. A new folder is built beside its final name and renamed into place, so that a start cut
 * short (a crash, or a daemon stopped by another error) leaves no half-made catalogue that later
 * starts would trip over. An existing folder with files in it is made a catalogue in place.
 */
export async function initCatalog(dir: string, visibility: Visibility = 'private'): Promise<void> {
  if (existsSync(join(dir, '.git'))) throw conflict(`${dir} is already a git repository`);
  if (existsSync(dir) && (await readdir(dir)).length > 0) return buildCatalog(dir, visibility);
  const parent = dirname(resolve(dir));
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(dir)}.init-${randomBytes(4).toString('hex')}`);
  try {
    await buildCatalog(temp, visibility);
    await rename(temp, dir);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

async function buildCatalog(dir: string, visibility: Visibility): Promise<void> {
  await mkdir(join(dir, IMAGES_DIR), { recursive: true });
  await simpleGit(dir).init(['--initial-branch=main']);
  await writeFile(join(dir, 'README.md'), PUBLISHERS_README);
  await writeFile(join(dir, CATALOG_CONFIG_FILE), `${JSON.stringify({ schema_version: SCHEMA_VERSION, layout: 'images/<id[0:2]>/<id>.json', visibility }, null, 2)}\n`);
  await writeFile(join(dir, IMAGES_DIR, '.gitkeep'), '');
  await writeFile(join(dir, '.gitattributes'), GITATTRIBUTES);
  const ciFiles = await writeCiFiles(dir);
  // One process for the rest (a first start creates the private catalogue while the scan holds the
  // event loop); the first commit's identity travels in its environment.
  await new GitRunner(dir).runSequence(
    [
      ...catalogRepoConfig().map(([key, value]) => ['config', key, value]),
      ['add', 'README.md', CATALOG_CONFIG_FILE, `${IMAGES_DIR}/.gitkeep`, '.gitattributes', ...ciFiles],
      // gc.auto is off: the maintenance process commit would start has nothing to do.
      ['-c', 'maintenance.auto=false', 'commit', '-q', '-m', 'Create VISOR catalogue'],
    ],
    { env: DAEMON_IDENTITY },
  );
}

/**
 * Writes the CI files (workflows and the vendored checker) of this installation into an existing
 * catalogue clone and stages them, for its maintainer to review and commit: after upgrading VISOR,
 * the catalogue's CI then checks with the new rules.
 */
export async function updateCiFiles(dir: string): Promise<{ dir: string; files: readonly string[]; changed: readonly string[] }> {
  if (!(await isCatalog(dir))) throw notFound(`a catalogue (a git working tree with ${CATALOG_CONFIG_FILE}) in ${dir}`);
  const git = new GitRunner(dir);
  const files = await writeCiFiles(dir);
  await git.run(['add', '--', ...files]);
  const changed = (await git.run(['diff', '--cached', '--name-only', '-z', '--', ...files])).stdout.split('\0').filter((f) => f !== '');
  return { dir, files, changed };
}

/** The repository configuration every catalogue gets, and again at every start: the merge driver names this installation's paths, which may have moved. */
function catalogRepoConfig(): Array<[string, string]> {
  return [...REPO_CONFIG, ...mergeDriverConfig()];
}

export async function configureCatalogRepo(dir: string): Promise<void> {
  const git = new GitRunner(dir);
  // Only what differs is written (a start then runs one git command, not six), one write after
  // another, as git config writes take a lock on .git/config, in one shell: a fresh clone's first
  // start needs all six, and each spawn from a daemon whose catalogue is loading costs its main
  // thread ~10-50 ms (the fork copies a growing heap's page tables).
  const current = new Map<string, string>();
  for (const entry of (await git.run(['config', '--local', '--list', '-z'])).stdout.split('\0')) {
    const eol = entry.indexOf('\n');
    if (eol > 0) current.set(entry.slice(0, eol), entry.slice(eol + 1));
  }
  // git lists names in lower case (none of ours has a subsection with capitals, where case counts).
  const writes = catalogRepoConfig()
    .filter(([key, value]) => current.get(key.toLowerCase()) !== value)
    .map(([key, value]) => ['config', key, value]);
  if (writes.length > 0) await git.runSequence(writes);
}

const REFUSE_PUSH = `#!/bin/sh
# Installed by the VISOR daemon: this catalogue holds private images and never leaves its instance.
echo "visor: refusing to push the private catalogue: private images never leave this instance" >&2
exit 1
`;

/** A pre-push hook that refuses every push: the private catalogue must not leave, even by mistake. */
export async function forbidPushes(dir: string): Promise<void> {
  const git = new GitRunner(dir);
  let hooks = (await git.run(['rev-parse', '--git-path', 'hooks'])).stdout.trim();
  if (!hooks.startsWith('/')) hooks = join(dir, hooks);
  await mkdir(hooks, { recursive: true });
  await writeFile(join(hooks, 'pre-push'), REFUSE_PUSH, { mode: 0o755 });
}

export async function isCatalog(dir: string): Promise<boolean> {
  return existsSync(join(dir, '.git')) && existsSync(join(dir, CATALOG_CONFIG_FILE));
}

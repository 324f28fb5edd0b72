import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pollUntil } from './polling.ts';
import { initCatalog } from '../../src/catalog/CatalogRepo.ts';
import { installHooks } from '../../src/catalog/HookInstaller.ts';

/**
 * git's whole environment in tests: a publisher's identity, and none of the tests' own variables or
 * configuration (a GIT_DIR set by a hook running the suite, or a global commit.gpgsign, would change
 * what every command does).
 */
const GIT_ENV = {
  PATH: process.env['PATH'] ?? '',
  HOME: process.env['HOME'] ?? '/root',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
  ...publisherIdentity(),
};

/** The git identity of the tests' publisher, for commands (git, or `visor publish`) that commit. */
export function publisherIdentity(): Record<string, string> {
  return { GIT_AUTHOR_NAME: 'Pat Publisher', GIT_AUTHOR_EMAIL: 'pat@example.org', GIT_COMMITTER_NAME: 'Pat Publisher', GIT_COMMITTER_EMAIL: 'pat@example.org' };
}

/** Runs git in a directory as a publisher would; throws with git's stderr on failure. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: GIT_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs git and returns its status and stderr instead of throwing: for refused pushes and commits. */
export function tryGit(dir: string, ...args: string[]): { status: number; stderr: string; stdout: string } {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: GIT_ENV });
  return { status: r.status ?? -1, stderr: r.stderr, stdout: r.stdout };
}

/**
 * Like tryGit, without blocking: for git talking to a daemon in this same process, which a
 * synchronous spawn would starve.
 */
export function gitAsync(dir: string, ...args: string[]): Promise<{ status: number; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd: dir, env: GIT_ENV });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

/**
 * `git status --porcelain` once the daemon's index has caught up with its commits (it lags while
 * writes keep coming): polls for up to 5 s and returns the last answer.
 */
export function statusWhenSettled(dir: string, ...paths: string[]): Promise<string> {
  return pollUntil(async () => (await gitAsync(dir, 'status', '--porcelain', '--', ...paths)).stdout.trim(), (out) => out === '', { within: 5000 });
}

export async function tempDir(prefix = 'visor-git-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * A catalogue "server" (a bare repository with VISOR's pre-receive hook, seeded from a fresh
 * catalogue) and a publisher's clone of it, with the hooks installed there too when asked.
 */
export async function serverAndClone(options: { publicCatalogue?: boolean; hooksInClone?: boolean } = {}): Promise<{ root: string; server: string; clone: string }> {
  const root = await tempDir();
  const seed = join(root, 'seed');
  await initCatalog(seed);
  const server = join(root, 'server.git');
  git(root, 'clone', '-q', '--bare', seed, server);
  await installHooks(server, options.publicCatalogue === undefined ? {} : { publicCatalogue: options.publicCatalogue });
  const clone = join(root, 'clone');
  git(root, 'clone', '-q', server, clone);
  if (options.hooksInClone) await installHooks(clone);
  return { root, server, clone };
}

export function imageRecord(extra: Record<string, unknown> = {}): Record<string, unknown> & { id: string } {
  const id = (extra['id'] as string | undefined) ?? randomUUID();
  const now = new Date().toISOString();
  return { id, name: `image-${id.slice(0, 8)}`, status: 'available', access: 'public', owner: 'pat', created_at: now, updated_at: now, size: 10, checksum: `sha256:${'a'.repeat(64)}`, locations: [{ store: 'fs', key: id }], ...extra };
}

export function recordFile(id: string): string {
  return `images/${id.slice(0, 2)}/${id}.json`;
}

export async function writeRecordFile(repo: string, record: Record<string, unknown>, path?: string): Promise<string> {
  const file = path ?? recordFile(String(record['id']));
  await mkdir(dirname(join(repo, file)), { recursive: true });
  await writeFile(join(repo, file), `${JSON.stringify(record, null, 2)}\n`);
  return file;
}

export async function readRecordFile(repo: string, id: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(join(repo, recordFile(id)), 'utf8')) as Record<string, unknown>;
}

import { randomBytes } from 'node:crypto';
import { chmod, constants, lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { CliError } from './CliError.ts';
import { ExitCode } from './ExitCode.ts';
import { serverUrl } from './serverUrl.ts';

/** A key `visor login` checked and kept, filed under its daemon's URL (src/cli/serverUrl.ts). */
export interface StoredKey {
  key: string;
  /** The account the daemon said the key belongs to, for messages. */
  account: string;
  saved_at: string;
}

const FILE_KEYS = ['servers'];
const ENTRY_KEYS = ['key', 'account', 'saved_at'];

/** $XDG_CONFIG_HOME/visor/credentials.json, ~/.config/visor/credentials.json by default. */
export function credentialsFilePath(env: NodeJS.ProcessEnv, homeDir: string): string {
  const base = env['XDG_CONFIG_HOME'] !== undefined && env['XDG_CONFIG_HOME'] !== '' ? env['XDG_CONFIG_HOME'] : join(homeDir, '.config');
  return join(base, 'visor', 'credentials.json');
}

/**
 * The stored keys by server URL; empty when there is no file. The file must be a regular file (a
 * symlink could point the CLI at someone else's file, or make it write the keys somewhere readable),
 * owned by this user and private to them (readable by others, the keys have leaked; writable by
 * others, they could file a key under their own server's URL and collect it). Anything else is refused.
 */
export async function readCredentials(path: string): Promise<Map<string, StoredKey>> {
  let text: string;
  try {
    const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      assertPrivateFile(path, await file.stat());
      text = await file.readFile('utf8');
    } finally {
      await file.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Map();
    if (code === 'ELOOP') throw new CliError(`refusing to use ${path}: it is a symbolic link; keys are kept only in a file of its own (remove the link and run \`visor login\` again)`, ExitCode.auth);
    if (error instanceof CliError) throw error;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  return parseCredentials(path, text);
}

/** Files `entry` under `url` (replacing any key there), writing the whole file anew with mode 0600. */
export async function saveCredential(path: string, url: string, entry: StoredKey): Promise<void> {
  const servers = await readCredentials(path);
  servers.set(url, entry);
  await writeCredentials(path, servers);
}

/** Removes the key filed under `url`; answers whether there was one. */
export async function removeCredential(path: string, url: string): Promise<boolean> {
  const servers = await readCredentials(path);
  if (!servers.delete(url)) return false;
  if (servers.size === 0) await rm(path, { force: true });
  else await writeCredentials(path, servers);
  return true;
}

/**
 * Written to a new private file beside it, then renamed over it: a reader never sees half a file,
 * the file is never briefly readable by others, and a symlink planted at the path is replaced, not followed.
 */
async function writeCredentials(path: string, servers: Map<string, StoredKey>): Promise<void> {
  const folder = dirname(path);
  await privateFolder(folder);
  const temporary = join(folder, `.credentials.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    await file.writeFile(`${JSON.stringify({ servers: Object.fromEntries([...servers].sort(([a], [b]) => a.localeCompare(b))) }, null, 2)}\n`);
    await file.chmod(0o600); // the umask may have taken bits away, never added: this only makes sure
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** The folder holding the file: made 0700 when new, and made private when it is ours and was not. */
async function privateFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const info = await lstat(folder);
  if (!info.isDirectory()) throw new CliError(`refusing to keep keys in ${folder}: it is not a folder (a symbolic link?)`, ExitCode.auth);
  if (process.platform === 'win32') return;
  if (info.uid !== process.getuid?.()) throw new CliError(`refusing to keep keys in ${folder}: the folder belongs to another user`, ExitCode.auth);
  if ((info.mode & 0o077) !== 0) await chmod(folder, 0o700);
}

function assertPrivateFile(path: string, info: { isFile(): boolean; mode: number; uid: number }): void {
  if (!info.isFile()) throw new CliError(`refusing to use ${path}: it is not a regular file`, ExitCode.auth);
  if (process.platform === 'win32') return;
  if (info.uid !== process.getuid?.()) throw new CliError(`refusing to use the keys in ${path}: the file belongs to another user`, ExitCode.auth);
  const mode = info.mode & 0o777;
  if ((mode & 0o077) !== 0) {
    const how = (mode & 0o044) !== 0 ? 'readable' : 'writable';
    throw new CliError(`refusing to use the keys in ${path}: the file is ${how} by group or others (mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`, ExitCode.auth);
  }
}

function parseCredentials(path: string, text: string): Map<string, StoredKey> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  const servers = new Map<string, StoredKey>();
  if (!isObject(parsed)) throw new CliError(`${path} must hold a JSON object like {"servers": {"https://…": {"key": "visor_…", …}}} (written by \`visor login\`)`);
  for (const key of Object.keys(parsed)) if (!FILE_KEYS.includes(key)) throw new CliError(`${path}: "${key}" is not expected: the file holds only "servers"`);
  const entries = parsed['servers'] ?? {};
  if (!isObject(entries)) throw new CliError(`${path}: "servers" must be an object of daemon URL to key`);
  for (const [url, value] of Object.entries(entries)) {
    if (!isObject(value) || typeof value['key'] !== 'string' || value['key'] === '') throw new CliError(`${path}: "servers"."${url}" must hold a "key" (a non-empty string)`);
    for (const field of Object.keys(value)) if (!ENTRY_KEYS.includes(field)) throw new CliError(`${path}: "servers"."${url}": "${field}" is not expected (expected ${ENTRY_KEYS.join(', ')})`);
    const filed = serverUrl(url);
    if ('problem' in filed) throw new CliError(`${path}: "servers"."${url}": ${filed.problem}`);
    servers.set(filed.url, { key: value['key'], account: typeof value['account'] === 'string' ? value['account'] : '', saved_at: typeof value['saved_at'] === 'string' ? value['saved_at'] : '' });
  }
  return servers;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_VISOR_URL } from '../client/defaultUrl.ts';
import { CliError } from './CliError.ts';
import { ExitCode } from './ExitCode.ts';

export type TokenSource = 'flag' | 'env' | 'config' | 'admin-token' | 'none';

export interface ConnectionSettings {
  url: string;
  token: string | undefined;
  tokenSource: TokenSource;
}

export interface ConnectionSources {
  flags: { url?: string | undefined; token?: string | undefined };
  env: NodeJS.ProcessEnv;
  homeDir: string;
}

interface ConfigFile {
  url?: string;
  token?: string;
}

/** $XDG_CONFIG_HOME/visor/config.json, ~/.config/visor/config.json by default. */
export function configFilePath(env: NodeJS.ProcessEnv, homeDir: string): string {
  return join(nonEmpty(env['XDG_CONFIG_HOME']) ?? join(homeDir, '.config'), 'visor', 'config.json');
}

/** Where the daemon keeps its admin token by default: $VISOR_DATA_DIR, else $XDG_DATA_HOME/visor or ~/.local/share/visor. */
export function adminTokenPath(env: NodeJS.ProcessEnv, homeDir: string): string {
  const dataHome = nonEmpty(env['XDG_DATA_HOME']) ?? join(homeDir, '.local', 'share');
  return join(nonEmpty(env['VISOR_DATA_DIR']) ?? join(dataHome, 'visor'), 'admin-token');
}

/**
 * URL and token, each from the first source that has it: flags, VISOR_URL/VISOR_TOKEN, the config file,
 * and for the token finally the local daemon's admin-token file (so `visor` just works on the daemon's host).
 */
export async function resolveConnection(sources: ConnectionSources): Promise<ConnectionSettings> {
  const { flags, env, homeDir } = sources;
  let url = nonEmpty(flags.url) ?? nonEmpty(env['VISOR_URL']);
  let token: string | undefined;
  let tokenSource: TokenSource = 'none';
  if ((token = nonEmpty(flags.token)) !== undefined) tokenSource = 'flag';
  else if ((token = nonEmpty(env['VISOR_TOKEN'])) !== undefined) tokenSource = 'env';

  if (url === undefined || token === undefined) {
    const path = configFilePath(env, homeDir);
    const config = await readConfigFile(path);
    url ??= nonEmpty(config?.url);
    if (token === undefined && nonEmpty(config?.token) !== undefined) {
      await assertPrivate(path);
      token = nonEmpty(config?.token);
      tokenSource = 'config';
    }
  }
  if (token === undefined) {
    token = await readAdminToken(adminTokenPath(env, homeDir));
    if (token !== undefined) tokenSource = 'admin-token';
  }
  return { url: url ?? DEFAULT_VISOR_URL, token, tokenSource };
}

async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new CliError(`${path} must hold a JSON object like {"url": "...", "token": "..."}`);
  }
  const { url, token } = config as Record<string, unknown>;
  for (const [key, value] of Object.entries({ url, token })) {
    if (value !== undefined && typeof value !== 'string') throw new CliError(`${path}: "${key}" must be a string`);
  }
  return { url: url as string | undefined, token: token as string | undefined };
}

/**
 * The token file must be the owner's alone: readable by others, the key has leaked; writable by
 * others, they could swap in their own key or URL and collect what the CLI sends. Refuse either.
 */
async function assertPrivate(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    const how = (mode & 0o044) !== 0 ? 'readable' : 'writable';
    throw new CliError(
      `refusing to use the token in ${path}: the file is ${how} by group or others ` +
        `(mode ${mode.toString(8).padStart(4, '0')}); run: chmod 600 ${path}`,
      ExitCode.auth,
    );
  }
}

/** The admin token is only a convenience; any failure to read it just means there is none. */
async function readAdminToken(path: string): Promise<string | undefined> {
  try {
    return nonEmpty((await readFile(path, 'utf8')).trim());
  } catch {
    return undefined;
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

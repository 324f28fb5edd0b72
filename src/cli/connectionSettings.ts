import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_VISOR_URL } from '../client/defaultUrl.ts';
import { httpOrigin } from '../client/origin.ts';
import { CliError } from './CliError.ts';
import { ExitCode } from './ExitCode.ts';
import { credentialsFilePath, readCredentials } from './credentialsFile.ts';
import { serverUrl } from './serverUrl.ts';
import { localDaemon, readAdminToken, type LocalDaemon } from './localDaemon.ts';

export type TokenSource = 'flag' | 'env' | 'login' | 'config' | 'admin-token' | 'none';

export interface ConnectionSettings {
  url: string;
  /** Where the URL came from (--url, VISOR_URL, the config file, the local daemon's configuration, the default), for messages. */
  urlFrom: string;
  /** The URL's origin (scheme://host:port): a key from a file is sent only to the origin it is bound to. */
  origin: string;
  token: string | undefined;
  tokenSource: TokenSource;
  /** The CLI's config file, where a key for an origin can be kept. */
  configPath: string;
  /** Origins the config file holds keys for. */
  configOrigins: string[];
  /** Where `visor login` keeps keys, each filed under its daemon's URL (src/cli/credentialsFile.ts). */
  credentialsPath: string;
  /** The local admin token's file and its daemon's origins, when that file exists (used or not). */
  adminToken: { path: string; origins: string[] } | undefined;
}

export interface ConnectionSources {
  flags: { url?: string | undefined; token?: string | undefined };
  env: NodeJS.ProcessEnv;
  homeDir: string;
}

/** The CLI's config file: the default daemon URL and keys, each bound to the origin it is for. */
interface ConfigFile {
  url: string | undefined;
  /** Origin → key. */
  tokens: Map<string, string>;
}

const CONFIG_KEYS = ['url', 'tokens', 'token'];

/** $XDG_CONFIG_HOME/visor/config.json, ~/.config/visor/config.json by default. */
export function configFilePath(env: NodeJS.ProcessEnv, homeDir: string): string {
  return join(nonEmpty(env['XDG_CONFIG_HOME']) ?? join(homeDir, '.config'), 'visor', 'config.json');
}

/**
 * The URL: --url, else VISOR_URL, else the config file's "url", else the local daemon's own address
 * (from its configuration), else http://127.0.0.1:4568.
 *
 * The key, never sent where it does not belong:
 * - --token or VISOR_TOKEN, which the user gave: sent to the URL in use, whichever that is;
 * - else the key `visor login` stored for exactly this URL (scheme, host, port and path prefix);
 * - else the config file's key for the URL's origin (its "tokens" entry, or "token" beside "url");
 * - else the local daemon's admin-token file, only when the URL is that daemon's own address;
 * - else none: requests go anonymous.
 */
export async function resolveConnection(sources: ConnectionSources): Promise<ConnectionSettings> {
  const { flags, env, homeDir } = sources;
  const configPath = configFilePath(env, homeDir);
  const credentialsPath = credentialsFilePath(env, homeDir);
  const [flagUrl, envUrl] = [nonEmpty(flags.url), nonEmpty(env['VISOR_URL'])];
  const explicitUrl = flagUrl !== undefined ? { url: flagUrl, from: '--url' } : envUrl !== undefined ? { url: envUrl, from: 'VISOR_URL' } : undefined;
  const [flagToken, envToken] = [nonEmpty(flags.token), nonEmpty(env['VISOR_TOKEN'])];
  const explicitToken = flagToken !== undefined ? { token: flagToken, source: 'flag' as const } : envToken !== undefined ? { token: envToken, source: 'env' as const } : undefined;

  const config = explicitUrl !== undefined && explicitToken !== undefined ? undefined : await readConfigFile(configPath);
  const needsLocal = explicitToken === undefined || (explicitUrl === undefined && config?.url === undefined);
  const local: LocalDaemon | undefined = needsLocal ? await localDaemon(env, homeDir) : undefined;

  const chosen = explicitUrl ?? (config?.url !== undefined ? { url: config.url, from: `"url" in ${configPath}` } : local?.origins[0] !== undefined ? { url: local.origins[0], from: "this host's daemon configuration (server.host, server.port)" } : { url: DEFAULT_VISOR_URL, from: 'the default' });
  const origin = httpOrigin(chosen.url);
  if (origin === undefined) throw new CliError(`${chosen.from}: ${chosen.url} is not an http:// or https:// URL`, ExitCode.usage);

  const adminToken = local === undefined ? undefined : await readAdminToken(local.adminTokenPath);
  const settings: ConnectionSettings = {
    url: chosen.url,
    urlFrom: chosen.from,
    origin,
    token: undefined,
    tokenSource: 'none',
    configPath,
    configOrigins: [...(config?.tokens.keys() ?? [])],
    credentialsPath,
    adminToken: local !== undefined && adminToken !== undefined ? { path: local.adminTokenPath, origins: local.origins } : undefined,
  };
  if (explicitToken !== undefined) return { ...settings, token: explicitToken.token, tokenSource: explicitToken.source };
  const filed = serverUrl(chosen.url);
  // Only an exact match: a key stored for one daemon is never tried on another.
  const stored = 'url' in filed ? (await readCredentials(credentialsPath)).get(filed.url) : undefined;
  if (stored !== undefined) return { ...settings, token: stored.key, tokenSource: 'login' };
  const configured = config?.tokens.get(origin);
  if (configured !== undefined) {
    await assertPrivate(configPath);
    return { ...settings, token: configured, tokenSource: 'config' };
  }
  if (adminToken !== undefined && local?.origins.includes(origin) === true) {
    return { ...settings, token: adminToken, tokenSource: 'admin-token' };
  }
  return settings;
}

/** What to tell someone whose request went without a key and was refused; undefined when a key was sent. */
export function missingKeyHint(settings: ConnectionSettings): string[] | undefined {
  if (settings.token !== undefined) return undefined;
  const { origin, configPath, configOrigins, adminToken } = settings;
  const lines = [`no token found for ${origin}, so the request went without one: run \`visor login ${settings.url}\`, pass --token or set VISOR_TOKEN (or add {"tokens": {"${origin}": "visor_…"}} to ${configPath}, mode 0600)`];
  if (configOrigins.length > 0) lines.push(`${configPath} holds keys for ${configOrigins.join(', ')} only`);
  if (adminToken !== undefined) {
    const where = adminToken.origins.length > 0 ? `at ${adminToken.origins.join(' or ')}` : 'whose port is chosen at start (server.port = 0), so to no URL';
    lines.push(`the admin token in ${adminToken.path} goes only to its own daemon, ${where}`);
  }
  return lines;
}

async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw new CliError(`${path} must hold a JSON object like {"url": "https://…", "tokens": {"https://…": "visor_…"}}`);
  for (const key of Object.keys(parsed)) {
    if (!CONFIG_KEYS.includes(key)) throw new CliError(`${path}: "${key}" is not a setting: expected one of ${CONFIG_KEYS.join(', ')}`);
  }
  const { url, token, tokens } = parsed;
  for (const [key, value] of Object.entries({ url, token })) {
    if (value !== undefined && typeof value !== 'string') throw new CliError(`${path}: "${key}" must be a string`);
  }
  const config: ConfigFile = { url: nonEmpty(url as string | undefined), tokens: new Map() };
  const urlOrigin = config.url === undefined ? undefined : httpOrigin(config.url);
  if (config.url !== undefined && urlOrigin === undefined) throw new CliError(`${path}: "url" must be an http:// or https:// URL, not ${config.url}`);

  if (tokens !== undefined) {
    if (!isObject(tokens)) throw new CliError(`${path}: "tokens" must be an object of daemon URL to key, like {"https://visor.example.org": "visor_…"}`);
    for (const [key, value] of Object.entries(tokens)) {
      const origin = originOnly(key);
      if (origin === undefined) throw new CliError(`${path}: "tokens" key ${JSON.stringify(key)} must be a daemon's origin, like https://visor.example.org or http://127.0.0.1:4568 (scheme, host and port; no path)`);
      if (typeof value !== 'string' || value === '') throw new CliError(`${path}: "tokens"."${key}" must be a key (a non-empty string)`);
      if (config.tokens.has(origin)) throw new CliError(`${path}: "tokens" names ${origin} twice`);
      config.tokens.set(origin, value);
    }
  }
  // The old single "token" belongs to the "url" beside it; alone it names no daemon, and a key that
  // could go to any server is refused rather than guessed at.
  const single = nonEmpty(token as string | undefined);
  if (single !== undefined) {
    if (urlOrigin === undefined) {
      throw new CliError(`${path}: "token" is not bound to a daemon: add the "url" it is for, or write it as {"tokens": {"https://visor.example.org": "visor_…"}}`);
    }
    if (config.tokens.has(urlOrigin) && config.tokens.get(urlOrigin) !== single) {
      throw new CliError(`${path}: "token" and "tokens" name different keys for ${urlOrigin}; keep one`);
    }
    config.tokens.set(urlOrigin, single);
  }
  return config;
}

/** The origin a "tokens" key names, or undefined when it is no http(s) URL or says more than an origin. */
function originOnly(key: string): string | undefined {
  let url: URL;
  try {
    url = new URL(key);
  } catch {
    return undefined;
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  return bare ? httpOrigin(url) : undefined;
}

/**
 * The token file must be the owner's alone: readable by others, the key has leaked; writable by
 * others, they could bind the key to their own server and collect it. Refuse either.
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

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

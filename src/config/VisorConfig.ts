import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { invalidField, type FieldProblem, invalid } from '../errors/VisorError.ts';

export type DigestAlgorithm = 'sha256' | 'sha512';

export interface FsStoreConfig {
  type: 'fs';
  path: string;
  fsync: boolean;
}

export type StoreConfig = FsStoreConfig;

export interface VisorConfig {
  dataDir: string;
  defaultStore: string;
  server: { host: string; port: number; publicUrl: string; maxJsonBytes: number };
  catalog: { path: string };
  uploads: { maxBytes: number; checksum: DigestAlgorithm };
  log: { level: string };
  stores: Record<string, StoreConfig>;
}

/** The configuration file's shape (snake_case, all optional), also accepted as overrides by tests. */
export interface ConfigFile {
  data_dir?: string;
  default_store?: string;
  server?: { host?: string; port?: number; public_url?: string; max_json_bytes?: number };
  catalog?: { path?: string };
  uploads?: { max_bytes?: number; checksum?: string };
  log?: { level?: string };
  stores?: Record<string, { type?: string; path?: string; fsync?: boolean }>;
}

const KNOWN: Record<string, readonly string[]> = {
  '': ['data_dir', 'default_store', 'server', 'catalog', 'uploads', 'log', 'stores'],
  server: ['host', 'port', 'public_url', 'max_json_bytes'],
  catalog: ['path'],
  uploads: ['max_bytes', 'checksum'],
  log: ['level'],
};
const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  return p === '~' || p.startsWith('~/') ? join(env['HOME'] ?? homedir(), p.slice(1)) : p;
}

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(expandHome(env['VISOR_DATA_DIR'] ?? join(env['XDG_DATA_HOME'] ?? join(env['HOME'] ?? homedir(), '.local', 'share'), 'visor'), env));
}

function checkKeys(file: ConfigFile, source: string): void {
  const problems: FieldProblem[] = [];
  for (const [section, keys] of Object.entries(KNOWN)) {
    const table = (section === '' ? file : (file as Record<string, unknown>)[section]) as Record<string, unknown> | undefined;
    if (table === undefined) continue;
    for (const key of Object.keys(table)) {
      if (!keys.includes(key)) {
        const field = section ? `${section}.${key}` : key;
        problems.push({ field, rule: 'known-key', expected: `one of ${keys.join(', ')}`, message: `${field}: unknown setting in ${source}` });
      }
    }
  }
  if (problems.length > 0) throw invalid(`configuration ${source} is invalid: ${problems.map((p) => p.message).join('; ')}`, problems);
}

function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw invalidField(field, 'range', `an integer from ${min} to ${max}`);
  return n;
}

function boolean(value: unknown, field: string): boolean {
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw invalidField(field, 'type', 'true or false');
}

/**
 * Builds the daemon's configuration: defaults, then the file, then overrides (tests), then the
 * environment. With no file at all everything lives under the data directory.
 */
export function loadConfig(options: { configPath?: string; overrides?: ConfigFile; env?: NodeJS.ProcessEnv } = {}): VisorConfig {
  const env = options.env ?? process.env;
  const explicit = options.configPath ?? env['VISOR_CONFIG'];
  let file: ConfigFile = {};
  let source = 'defaults';
  const candidate = explicit ?? join(defaultDataDir(env), 'visor.toml');
  if (explicit !== undefined || existsSync(candidate)) {
    source = candidate;
    try {
      file = parseToml(readFileSync(candidate, 'utf8')) as ConfigFile;
    } catch (e) {
      throw invalidField('config', 'toml', 'a readable TOML file', `cannot read configuration ${candidate}: ${(e as Error).message}`);
    }
    checkKeys(file, candidate);
  }
  const o = options.overrides ?? {};
  checkKeys(o, 'overrides');
  const dataDir = resolve(expandHome(env['VISOR_DATA_DIR'] ?? o.data_dir ?? file.data_dir ?? defaultDataDir(env), env));

  const host = env['VISOR_HOST'] ?? o.server?.host ?? file.server?.host ?? '127.0.0.1';
  const port = integer(env['VISOR_PORT'] ?? o.server?.port ?? file.server?.port ?? 4568, 'server.port', 0, 65535);
  const publicUrl = (env['VISOR_PUBLIC_URL'] ?? o.server?.public_url ?? file.server?.public_url ?? '').replace(/\/+$/, '');
  const checksum = env['VISOR_CHECKSUM'] ?? o.uploads?.checksum ?? file.uploads?.checksum ?? 'sha256';
  if (checksum !== 'sha256' && checksum !== 'sha512') throw invalidField('uploads.checksum', 'enum', 'sha256 or sha512');
  const level = env['VISOR_LOG_LEVEL'] ?? o.log?.level ?? file.log?.level ?? 'info';
  if (!LEVELS.includes(level)) throw invalidField('log.level', 'enum', `one of ${LEVELS.join(', ')}`);

  const stores: Record<string, StoreConfig> = {};
  const declared: NonNullable<ConfigFile['stores']> = { fs: {}, ...file.stores, ...o.stores };
  for (const [name, s] of Object.entries(declared)) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name)) throw invalidField(`stores.${name}`, 'pattern', 'a name matching ^[a-z][a-z0-9_-]{0,62}$');
    const type = s.type ?? 'fs';
    if (type !== 'fs') throw invalidField(`stores.${name}.type`, 'enum', 'fs (S3, Swift, HTTP and WebHDFS adapters are not available yet)');
    const fsyncSetting = name === 'fs' && env['VISOR_FS_FSYNC'] !== undefined ? env['VISOR_FS_FSYNC'] : s.fsync;
    stores[name] = {
      type: 'fs',
      path: resolve(expandHome(s.path || join(dataDir, name === 'fs' ? 'images' : `images-${name}`), env)),
      fsync: fsyncSetting === undefined ? true : boolean(fsyncSetting, `stores.${name}.fsync`),
    };
  }
  const defaultStore = env['VISOR_DEFAULT_STORE'] ?? o.default_store ?? file.default_store ?? 'fs';
  if (!stores[defaultStore]) throw invalidField('default_store', 'exists', `one of the configured stores: ${Object.keys(stores).join(', ')}`);

  return {
    dataDir,
    defaultStore,
    server: {
      host,
      port,
      publicUrl,
      maxJsonBytes: integer(env['VISOR_MAX_JSON_BYTES'] ?? o.server?.max_json_bytes ?? file.server?.max_json_bytes ?? 1 << 20, 'server.max_json_bytes', 1024),
    },
    catalog: { path: resolve(expandHome(env['VISOR_CATALOG_PATH'] ?? (o.catalog?.path || file.catalog?.path || join(dataDir, 'catalog')), env)) },
    uploads: {
      maxBytes: integer(env['VISOR_MAX_UPLOAD_BYTES'] ?? o.uploads?.max_bytes ?? file.uploads?.max_bytes ?? 2 ** 40, 'uploads.max_bytes', 0),
      checksum,
    },
    log: { level },
    stores,
  };
}

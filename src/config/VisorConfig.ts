import { readFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import proxyaddr from 'proxy-addr';
import { parse as parseToml } from 'smol-toml';
import { invalidField, type FieldProblem, invalid } from '../errors/VisorError.ts';
import { INSTANCE_NAME } from '../federation/InstanceIdentity.ts';
import { parsePublicKeyLine } from '../trust/SshKeys.ts';
import { readPinnedRoot, type PinnedRoot } from '../trust/PinnedRoot.ts';
import { assertAccountName } from '../accounts/AccountName.ts';
import { assertStoresApart, parseStoreConfig, type StoreConfig, type StoreSettings } from './storeConfig.ts';
import { parseUpstreamFiles, UPSTREAM_FILE_KEYS, type UpstreamFiles, type UpstreamFileSettings } from './upstreamFiles.ts';
import { parseScanningConfig, SCANNING_KEYS, type ScanningConfig, type ScanningSettings } from '../scanning/ScanningConfig.ts';
import { WEB_DOWNLOAD_KEYS, webDownloadSettings, type WebDownloadFileSettings } from './WebDownloadConfig.ts';
import type { WebDownloadSettings } from '../image-files/WebDownloadPolicy.ts';

export type DigestAlgorithm = 'sha256' | 'sha512';

// Store types and their settings live beside their parser.
export type { StoreConfig, FsStoreConfig, S3StoreConfig, SwiftStoreConfig, HttpStoreConfig, HdfsStoreConfig, StoreSettings } from './storeConfig.ts';

/** A catalogue this instance follows: fetched on a schedule (0 = only on POST /sync) and merged in. */
export interface UpstreamConfig {
  name: string;
  url: string;
  branch: string;
  intervalSeconds: number;
  /** Shared with the forge: its push notifications (POST /sync/webhooks/<name>) prove they know it. */
  webhookSecret?: string;
  /** What happens to the files of the images it brings (src/config/upstreamFiles.ts). */
  files: UpstreamFiles;
  /** Take only the images its catalogue endorses as the site's trust policy requires (src/sync/OnlyEndorsed.ts; zot's onlySigned). */
  onlyEndorsed?: boolean;
  /** The upstream instance's public key line, pinned: each sync then requires its signed, unexpired head statement (src/trust/HeadStatement.ts). */
  headKey?: string;
  /** Each new commit on the branch's first-parent line must be SSH-signed by the head key or one of commitKeys (src/sync/CommitChecks.ts). */
  signedCommits?: boolean;
  /** Further keys whose signed commits the upstream carries (its own upstreams', which it fast-forwards). */
  commitKeys?: string[];
  /** The upstream's trust/root.json as the operator pinned it: what it offers must descend from it (src/sync/UpstreamRootPin.ts; TUF's shipped root). */
  trustRoot?: PinnedRoot;
}

export interface VisorConfig {
  dataDir: string;
  /** This instance's name as records' `origin` carries it; chosen at the first start (src/federation/InstanceIdentity.ts). */
  instanceName: string | undefined;
  defaultStore: string;
  server: { host: string; port: number; publicUrl: string; maxJsonBytes: number; tls: TlsConfig | undefined; shutdownGraceSeconds: number; limits: ConnectionLimits; trustedProxies: string[] };
  /**
   * headValiditySeconds: how long the signed head statement is valid (0: none is published; src/federation/HeadPublisher.ts).
   * signCommits: the daemon SSH-signs every commit it makes with the instance key (src/git/CommitSigner.ts).
   */
  catalog: { path: string; privatePath: string; headValiditySeconds: number; signCommits: boolean };
  uploads: { maxBytes: number; checksum: DigestAlgorithm; maxVirtualSize: number };
  log: { level: string };
  stores: Record<string, StoreConfig>;
  upstreams: UpstreamConfig[];
  /** The audit log of every API operation, outside the catalogue, rotated by size. */
  audit: { dir: string; maxBytes: number; keep: number };
  /** log2 of scrypt's N for new API key hashes: each costs ~100 ms at 15, 1 ms at 10. */
  auth: { keyHashCost: number };
  /** Malware scanning of images' files with ClamAV (src/scanning). */
  scanning: ScanningConfig;
  /** The site's trust policy file (src/trust/SiteTrust.ts); `required` when configured, else <data_dir>/trust-policy.json if present. */
  trust: { policy: string; required: boolean };
  /** Glance's web-download import: what it may fetch (src/image-files/WebDownloadPolicy.ts). */
  webDownload: WebDownloadSettings;
  /** The Glance v2 edge: anyTokenAccount, for closed test clouds only (src/glance/AnyTokenAccount.ts). */
  glance: { anyTokenAccount: string | undefined };
}

/**
 * How long a client may take, and how many connections it may hold: a slow or greedy client must not
 * hold the daemon's sockets from everyone else. Uploads have no total bound, only the idle one.
 */
export interface ConnectionLimits {
  /** From a request's first byte to the end of its headers. */
  headersTimeoutMs: number;
  /** From a request's headers to the end of its body, for every request but an upload. */
  requestTimeoutMs: number;
  /** The longest pause between bytes of a request body, uploads included. */
  idleTimeoutMs: number;
  /** Open connections in all (0: no cap). */
  maxConnections: number;
  /** Open connections from one client address (an IPv6 /64 counts as one; 0: no cap). */
  maxConnectionsPerClient: number;
}

/** Certificate and private key files (PEM): the daemon then speaks HTTPS only. */
export interface TlsConfig {
  cert: string;
  key: string;
}

/** The configuration file's shape (snake_case, all optional), also accepted as overrides by tests. */
export interface ConfigFile {
  data_dir?: string;
  instance_name?: string;
  default_store?: string;
  server?: { host?: string; port?: number; public_url?: string; max_json_bytes?: number; tls_cert?: string; tls_key?: string; shutdown_grace_seconds?: number; trusted_proxies?: string[] } & ConnectionLimitSettings;
  catalog?: { path?: string; private_path?: string; head_validity_seconds?: number; sign_commits?: boolean };
  uploads?: { max_bytes?: number; checksum?: string; max_virtual_size?: number };
  log?: { level?: string };
  audit?: { path?: string; max_bytes?: number; keep?: number };
  auth?: { key_hash_cost?: number };
  scanning?: ScanningSettings;
  trust?: { policy?: string };
  web_download?: WebDownloadFileSettings;
  glance?: { any_token_account?: string };
  stores?: Record<string, StoreSettings>;
  upstreams?: Record<string, { url?: string; branch?: string; interval_seconds?: number; webhook_secret?: string; only_endorsed?: boolean; head_key?: string; signed_commits?: boolean; commit_keys?: string[]; trust_root?: string } & UpstreamFileSettings>;
}

/** The [server] settings of ConnectionLimits, in seconds and counts. */
interface ConnectionLimitSettings {
  headers_timeout_seconds?: number;
  request_timeout_seconds?: number;
  idle_timeout_seconds?: number;
  max_connections?: number;
  max_connections_per_client?: number;
}

const KNOWN: Record<string, readonly string[]> = {
  '': ['data_dir', 'instance_name', 'default_store', 'server', 'catalog', 'uploads', 'log', 'stores', 'audit', 'auth', 'upstreams', 'scanning', 'trust', 'web_download', 'glance'],
  server: ['host', 'port', 'public_url', 'max_json_bytes', 'tls_cert', 'tls_key', 'shutdown_grace_seconds', 'trusted_proxies', 'headers_timeout_seconds', 'request_timeout_seconds', 'idle_timeout_seconds', 'max_connections', 'max_connections_per_client'],
  audit: ['path', 'max_bytes', 'keep'],
  auth: ['key_hash_cost'],
  catalog: ['path', 'private_path', 'head_validity_seconds', 'sign_commits'],
  uploads: ['max_bytes', 'checksum', 'max_virtual_size'],
  log: ['level'],
  scanning: SCANNING_KEYS,
  trust: ['policy'],
  web_download: WEB_DOWNLOAD_KEYS,
  glance: ['any_token_account'],
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

/**
 * An integer setting. `variable` names the environment variable when the value came from it: the
 * error then says what the user set (VISOR_PORT), not only the setting it stands for (server.port).
 */
function integer(value: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER, variable?: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    const expected = `an integer from ${min} to ${max}`;
    throw invalidField(field, 'range', expected, variable === undefined ? undefined : `${field}: ${variable} is ${JSON.stringify(value)}, expected ${expected}`);
  }
  return n;
}

/** true or false, also as an environment variable's text. */
function flag(value: unknown, field: string, variable?: string): boolean {
  const b = value === 'true' ? true : value === 'false' ? false : value;
  if (typeof b !== 'boolean') throw invalidField(field, 'type', 'true or false', variable === undefined ? undefined : `${field}: ${variable} is ${JSON.stringify(value)}, expected true or false`);
  return b;
}

/** The variable's name when the environment sets it (its value is then the one in use). */
function fromEnv(env: NodeJS.ProcessEnv, variable: string): string | undefined {
  return env[variable] !== undefined ? variable : undefined;
}

function connectionLimits(o: ConfigFile, file: ConfigFile, env: NodeJS.ProcessEnv): ConnectionLimits {
  const seconds = (name: 'headers_timeout_seconds' | 'request_timeout_seconds' | 'idle_timeout_seconds', variable: string, fallback: number) =>
    integer(env[variable] ?? o.server?.[name] ?? file.server?.[name] ?? fallback, `server.${name}`, 1, 86400, fromEnv(env, variable)) * 1000;
  const count = (name: 'max_connections' | 'max_connections_per_client', variable: string, fallback: number) =>
    integer(env[variable] ?? o.server?.[name] ?? file.server?.[name] ?? fallback, `server.${name}`, 0, 1_000_000, fromEnv(env, variable));
  return {
    headersTimeoutMs: seconds('headers_timeout_seconds', 'VISOR_HEADERS_TIMEOUT', 20),
    requestTimeoutMs: seconds('request_timeout_seconds', 'VISOR_REQUEST_TIMEOUT', 60),
    idleTimeoutMs: seconds('idle_timeout_seconds', 'VISOR_IDLE_TIMEOUT', 60),
    maxConnections: count('max_connections', 'VISOR_MAX_CONNECTIONS', 1024),
    maxConnectionsPerClient: count('max_connections_per_client', 'VISOR_MAX_CONNECTIONS_PER_CLIENT', 128),
  };
}

/**
 * The proxies whose X-Forwarded-For is believed: addresses, CIDR ranges, or proxy-addr's names
 * (loopback, linklocal, uniquelocal). A mistyped entry stops the start rather than trusting nothing
 * (or everything) by surprise.
 */
function trustedProxies(entries: unknown): string[] {
  if (!Array.isArray(entries) || entries.some((e) => typeof e !== 'string')) throw invalidField('server.trusted_proxies', 'type', 'a list of addresses or CIDR ranges, such as ["127.0.0.1", "10.0.0.0/8"]');
  for (const entry of entries as string[]) {
    try {
      proxyaddr.compile(entry);
    } catch {
      throw invalidField('server.trusted_proxies', 'address', 'addresses or CIDR ranges (or loopback, linklocal, uniquelocal)', `server.trusted_proxies: ${JSON.stringify(entry)} is not an address, a CIDR range or a known name`);
    }
  }
  return entries as string[];
}

/**
 * Builds the daemon's configuration: defaults, then the file, then overrides (tests), then the
 * environment. With no file at all everything lives under the data directory.
 */
export function loadConfig(options: { configPath?: string; overrides?: ConfigFile; env?: NodeJS.ProcessEnv } = {}): VisorConfig {
  const env = options.env ?? process.env;
  const explicit = options.configPath ?? env['VISOR_CONFIG'];
  let file: ConfigFile = {};
  const candidate = explicit ?? join(defaultDataDir(env), 'visor.toml');
  if (explicit !== undefined || existsSync(candidate)) {
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

  const instanceName = env['VISOR_INSTANCE_NAME'] ?? o.instance_name ?? file.instance_name;
  if (instanceName !== undefined && (typeof instanceName !== 'string' || !INSTANCE_NAME.test(instanceName))) {
    throw invalidField('instance_name', 'pattern', 'lower-case letters, digits, dots and hyphens, such as images.example.org (at most 128)');
  }

  const host = env['VISOR_HOST'] ?? o.server?.host ?? file.server?.host ?? '127.0.0.1';
  const port = integer(env['VISOR_PORT'] ?? o.server?.port ?? file.server?.port ?? 4568, 'server.port', 0, 65535, fromEnv(env, 'VISOR_PORT'));
  const publicUrl = (env['VISOR_PUBLIC_URL'] ?? o.server?.public_url ?? file.server?.public_url ?? '').replace(/\/+$/, '');
  const checksum = env['VISOR_CHECKSUM'] ?? o.uploads?.checksum ?? file.uploads?.checksum ?? 'sha256';
  if (checksum !== 'sha256' && checksum !== 'sha512') throw invalidField('uploads.checksum', 'enum', 'sha256 or sha512');
  const tlsCert = env['VISOR_TLS_CERT'] ?? o.server?.tls_cert ?? file.server?.tls_cert;
  const tlsKey = env['VISOR_TLS_KEY'] ?? o.server?.tls_key ?? file.server?.tls_key;
  if ((tlsCert === undefined) !== (tlsKey === undefined)) {
    throw invalidField(tlsCert === undefined ? 'server.tls_cert' : 'server.tls_key', 'required', 'both server.tls_cert and server.tls_key, or neither');
  }
  const tls = tlsCert !== undefined && tlsKey !== undefined ? { cert: resolve(expandHome(tlsCert, env)), key: resolve(expandHome(tlsKey, env)) } : undefined;
  const level = env['VISOR_LOG_LEVEL'] ?? o.log?.level ?? file.log?.level ?? 'info';
  if (!LEVELS.includes(level)) throw invalidField('log.level', 'enum', `one of ${LEVELS.join(', ')}`);

  const stores: Record<string, StoreConfig> = {};
  const declared: NonNullable<ConfigFile['stores']> = { fs: {}, ...file.stores, ...o.stores };
  for (const [name, s] of Object.entries(declared)) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name)) throw invalidField(`stores.${name}`, 'pattern', 'a name matching ^[a-z][a-z0-9_-]{0,62}$');
    const table = name === 'fs' && env['VISOR_FS_FSYNC'] !== undefined ? { ...s, fsync: env['VISOR_FS_FSYNC'] } : s;
    stores[name] = parseStoreConfig(name, table, env, { dataDir, expandHome: (p) => expandHome(p, env) });
  }
  assertStoresApart(stores);

  const upstreams: Array<Omit<UpstreamConfig, 'files'>> = [];
  const upstreamTables = { ...file.upstreams, ...o.upstreams };
  for (const [name, u] of Object.entries(upstreamTables)) {
    if (!/^[a-z][a-z0-9_-]{0,62}$/.test(name)) throw invalidField(`upstreams.${name}`, 'pattern', 'a name matching ^[a-z][a-z0-9_-]{0,62}$');
    for (const key of Object.keys(u)) {
      const known = ['url', 'branch', 'interval_seconds', 'webhook_secret', 'only_endorsed', 'head_key', 'signed_commits', 'commit_keys', 'trust_root', ...UPSTREAM_FILE_KEYS];
      if (!known.includes(key)) throw invalidField(`upstreams.${name}.${key}`, 'known-key', `one of ${known.join(', ')}`);
    }
    if (typeof u.url !== 'string' || u.url === '') throw invalidField(`upstreams.${name}.url`, 'required', 'the URL or path of a git repository');
    const branch = u.branch ?? 'main';
    if (!/^[A-Za-z0-9._/-]{1,200}$/.test(branch) || branch.includes('..')) throw invalidField(`upstreams.${name}.branch`, 'pattern', 'a branch name');
    // A secret belongs in the environment rather than the file, like store credentials.
    const secretVariable = `VISOR_UPSTREAM_${name.toUpperCase().replace(/-/g, '_')}_WEBHOOK_SECRET`;
    const webhookSecret = env[secretVariable] ?? u.webhook_secret;
    if (webhookSecret !== undefined && (typeof webhookSecret !== 'string' || webhookSecret.length < 16)) {
      throw invalidField(`upstreams.${name}.webhook_secret`, 'minLength', `a secret of at least 16 characters (${secretVariable})`);
    }
    if (u.only_endorsed !== undefined && typeof u.only_endorsed !== 'boolean') throw invalidField(`upstreams.${name}.only_endorsed`, 'type', 'true or false');
    if (u.head_key !== undefined) parsePublicKeyLine(String(u.head_key), `upstreams.${name}.head_key`);
    if (u.signed_commits !== undefined && typeof u.signed_commits !== 'boolean') throw invalidField(`upstreams.${name}.signed_commits`, 'type', 'true or false');
    if (u.signed_commits && u.head_key === undefined) throw invalidField(`upstreams.${name}.signed_commits`, 'requires', 'upstreams.<name>.head_key too', `upstreams.${name}.signed_commits needs the upstream's key pinned as upstreams.${name}.head_key: its commits are checked against it`);
    if (u.commit_keys !== undefined && (!Array.isArray(u.commit_keys) || !u.signed_commits)) throw invalidField(`upstreams.${name}.commit_keys`, 'type', 'a list of ssh-ed25519 public key lines, with signed_commits: true');
    const commitKeys = (u.commit_keys ?? []).map((line, i) => (parsePublicKeyLine(String(line), `upstreams.${name}.commit_keys[${i}]`), String(line)));
    if (u.trust_root !== undefined && (typeof u.trust_root !== 'string' || u.trust_root === '')) throw invalidField(`upstreams.${name}.trust_root`, 'type', 'the path of a trust/root.json file');
    const trustRoot = u.trust_root === undefined ? undefined : readPinnedRoot(resolve(expandHome(u.trust_root, env)), `upstreams.${name}.trust_root`);
    upstreams.push({ name, url: u.url, branch, intervalSeconds: integer(u.interval_seconds ?? 300, `upstreams.${name}.interval_seconds`, 0, 86400), ...(webhookSecret ? { webhookSecret } : {}), ...(u.only_endorsed ? { onlyEndorsed: true } : {}), ...(u.head_key !== undefined ? { headKey: String(u.head_key) } : {}), ...(u.signed_commits ? { signedCommits: true, commitKeys } : {}), ...(trustRoot ? { trustRoot } : {}) });
  }
  const defaultStore = env['VISOR_DEFAULT_STORE'] ?? o.default_store ?? file.default_store ?? 'fs';
  if (!stores[defaultStore]) throw invalidField('default_store', 'exists', `one of the configured stores: ${Object.keys(stores).join(', ')}`);
  const followed: UpstreamConfig[] = upstreams.map((u) => ({ ...u, files: parseUpstreamFiles(u.name, upstreamTables[u.name]!, stores, defaultStore) }));

  return {
    dataDir,
    instanceName,
    defaultStore,
    server: {
      host,
      port,
      publicUrl,
      maxJsonBytes: integer(env['VISOR_MAX_JSON_BYTES'] ?? o.server?.max_json_bytes ?? file.server?.max_json_bytes ?? 1 << 20, 'server.max_json_bytes', 1024, undefined, fromEnv(env, 'VISOR_MAX_JSON_BYTES')),
      tls,
      // How long requests in flight may go on after SIGTERM/SIGINT, before uploads stop (marked error) and connections are cut.
      shutdownGraceSeconds: integer(env['VISOR_SHUTDOWN_GRACE_SECONDS'] ?? o.server?.shutdown_grace_seconds ?? file.server?.shutdown_grace_seconds ?? 5, 'server.shutdown_grace_seconds', 0, 3600, fromEnv(env, 'VISOR_SHUTDOWN_GRACE_SECONDS')),
      limits: connectionLimits(o, file, env),
      trustedProxies: trustedProxies(env['VISOR_TRUSTED_PROXIES']?.split(',').map((s) => s.trim()).filter(Boolean) ?? o.server?.trusted_proxies ?? file.server?.trusted_proxies ?? []),
    },
    catalog: {
      path: resolve(expandHome(env['VISOR_CATALOG_PATH'] ?? (o.catalog?.path || file.catalog?.path || join(dataDir, 'catalog')), env)),
      privatePath: resolve(expandHome(env['VISOR_PRIVATE_CATALOG_PATH'] ?? (o.catalog?.private_path || file.catalog?.private_path || join(dataDir, 'private-catalog')), env)),
      // A day, as TUF's timestamp role; re-signed every quarter of it. 0 publishes none.
      headValiditySeconds: integer(env['VISOR_HEAD_VALIDITY_SECONDS'] ?? o.catalog?.head_validity_seconds ?? file.catalog?.head_validity_seconds ?? 86400, 'catalog.head_validity_seconds', 0, 366 * 86400, fromEnv(env, 'VISOR_HEAD_VALIDITY_SECONDS')),
      signCommits: flag(env['VISOR_SIGN_COMMITS'] ?? o.catalog?.sign_commits ?? file.catalog?.sign_commits ?? true, 'catalog.sign_commits', fromEnv(env, 'VISOR_SIGN_COMMITS')),
    },
    uploads: {
      maxBytes: integer(env['VISOR_MAX_UPLOAD_BYTES'] ?? o.uploads?.max_bytes ?? file.uploads?.max_bytes ?? 2 ** 40, 'uploads.max_bytes', 0, undefined, fromEnv(env, 'VISOR_MAX_UPLOAD_BYTES')),
      // The largest virtual disk a file's header may claim (format inspection refuses more): 64 TiB.
      maxVirtualSize: integer(env['VISOR_MAX_VIRTUAL_SIZE'] ?? o.uploads?.max_virtual_size ?? file.uploads?.max_virtual_size ?? 2 ** 46, 'uploads.max_virtual_size', 0, undefined, fromEnv(env, 'VISOR_MAX_VIRTUAL_SIZE')),
      checksum,
    },
    log: { level },
    stores,
    upstreams: followed,
    audit: {
      dir: resolve(expandHome(env['VISOR_AUDIT_PATH'] ?? (o.audit?.path || file.audit?.path || join(dataDir, 'audit')), env)),
      maxBytes: integer(env['VISOR_AUDIT_MAX_BYTES'] ?? o.audit?.max_bytes ?? file.audit?.max_bytes ?? 64 * 2 ** 20, 'audit.max_bytes', 1024, undefined, fromEnv(env, 'VISOR_AUDIT_MAX_BYTES')),
      keep: integer(env['VISOR_AUDIT_KEEP'] ?? o.audit?.keep ?? file.audit?.keep ?? 10, 'audit.keep', 0, 1000, fromEnv(env, 'VISOR_AUDIT_KEEP')),
    },
    auth: { keyHashCost: integer(env['VISOR_KEY_HASH_COST'] ?? o.auth?.key_hash_cost ?? file.auth?.key_hash_cost ?? 15, 'auth.key_hash_cost', 10, 20, fromEnv(env, 'VISOR_KEY_HASH_COST')) },
    scanning: parseScanningConfig({ ...file.scanning, ...o.scanning }, env, integer),
    trust: trustPolicyPath(env['VISOR_TRUST_POLICY'] ?? o.trust?.policy ?? file.trust?.policy, dataDir, env),
    webDownload: webDownloadSettings(o.web_download ?? file.web_download),
    glance: { anyTokenAccount: anyTokenAccount(env['VISOR_GLANCE_ANY_TOKEN_ACCOUNT'] ?? o.glance?.any_token_account ?? file.glance?.any_token_account) },
  };
}

/** `trust.policy`: a configured file must exist; without one, <data_dir>/trust-policy.json is the site's policy when present. */
function trustPolicyPath(configured: string | undefined, dataDir: string, env: NodeJS.ProcessEnv): { policy: string; required: boolean } {
  if (configured === undefined || configured === '') return { policy: join(dataDir, 'trust-policy.json'), required: false };
  return { policy: resolve(expandHome(configured, env)), required: true };
}

function anyTokenAccount(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  return assertAccountName(value, 'glance.any_token_account');
}

import { join, resolve } from 'node:path';
import { invalidField } from '../errors/VisorError.ts';

export interface StoreCommonConfig {
  /** Idle time after which a request to the store is given up (and retried when that is safe). */
  timeoutMs: number;
  /** Further attempts on transient failures (network errors, 5xx, 429), with backoff. */
  retries: number;
}

export interface FsStoreConfig {
  type: 'fs';
  path: string;
  fsync: boolean;
}

export interface S3StoreConfig extends StoreCommonConfig {
  type: 's3';
  bucket: string;
  prefix: string;
  region: string;
  endpoint?: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  partSize: number;
  parallelParts: number;
  maxParts: number;
}

export interface SwiftStoreConfig extends StoreCommonConfig {
  type: 'swift';
  authUrl: string;
  authVersion: 1 | 3;
  user: string;
  /** TempAuth (v1) key. */
  key?: string;
  /** Keystone (v3) password and scope. */
  password?: string;
  userDomain: string;
  project?: string;
  projectDomain: string;
  region?: string;
  interface: string;
  container: string;
  segmentContainer: string;
  prefix: string;
  segmentSize: number;
  maxSegments: number;
}

export interface HttpStoreConfig extends StoreCommonConfig {
  type: 'http';
  url: string;
}

export interface HdfsStoreConfig extends StoreCommonConfig {
  type: 'hdfs';
  url: string;
  path: string;
  user?: string;
  delegationToken?: string;
}

export type StoreConfig = FsStoreConfig | S3StoreConfig | SwiftStoreConfig | HttpStoreConfig | HdfsStoreConfig;
export type StoreType = StoreConfig['type'];

/** One store's table in the configuration file: `type` and that type's settings (snake_case). */
export type StoreSettings = Record<string, string | number | boolean | undefined>;

const COMMON = ['type', 'timeout_ms', 'retries'];
const SETTINGS: Record<StoreType, readonly string[]> = {
  fs: ['type', 'path', 'fsync'],
  s3: [...COMMON, 'bucket', 'prefix', 'region', 'endpoint', 'force_path_style', 'access_key_id', 'secret_access_key', 'session_token', 'part_size', 'parallel_parts', 'max_parts'],
  swift: [...COMMON, 'auth_url', 'auth_version', 'user', 'key', 'password', 'user_domain', 'project', 'project_domain', 'region', 'interface', 'container', 'segment_container', 'prefix', 'segment_size', 'max_segments'],
  http: [...COMMON, 'url'],
  hdfs: [...COMMON, 'url', 'path', 'user', 'delegation_token'],
};
const TYPES = Object.keys(SETTINGS) as StoreType[];
const MiB = 1 << 20;

/** VISOR_STORE_<NAME>_<SETTING>: how any store setting, credentials above all, comes from the environment. */
export function storeEnvName(store: string, setting: string): string {
  return `VISOR_STORE_${store.toUpperCase().replace(/-/g, '_')}_${setting.toUpperCase()}`;
}

/**
 * Reads one store's settings: from its table, each overridden by VISOR_STORE_<NAME>_<SETTING>.
 * Every problem names the setting (stores.<name>.<setting>).
 */
export function parseStoreConfig(name: string, table: StoreSettings, env: NodeJS.ProcessEnv, defaults: { dataDir: string; expandHome: (p: string) => string }): StoreConfig {
  const field = (key: string) => `stores.${name}.${key}`;
  const type = (env[storeEnvName(name, 'type')] ?? table['type'] ?? 'fs') as StoreType;
  if (!TYPES.includes(type)) throw invalidField(field('type'), 'enum', `one of ${TYPES.join(', ')}`);
  for (const key of Object.keys(table)) {
    if (!SETTINGS[type].includes(key)) throw invalidField(field(key), 'known-key', `one of ${SETTINGS[type].join(', ')} (for type ${type})`, `${field(key)}: unknown setting for a store of type ${type}`);
  }
  const value = (key: string): string | number | boolean | undefined => env[storeEnvName(name, key)] ?? table[key];
  const text = (key: string, required = false): string | undefined => {
    const v = value(key);
    if (v === undefined || v === '') {
      if (required) throw invalidField(field(key), 'required', `a value (or ${storeEnvName(name, key)})`);
      return undefined;
    }
    if (typeof v !== 'string') throw invalidField(field(key), 'type', 'a string');
    return v;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const raw = value(key) ?? fallback;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw invalidField(field(key), 'range', `an integer from ${min} to ${max}`);
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = value(key) ?? fallback;
    if (v === true || v === 'true' || v === '1') return true;
    if (v === false || v === 'false' || v === '0') return false;
    throw invalidField(field(key), 'type', 'true or false');
  };
  const url = (key: string, required = true): string | undefined => {
    const v = text(key, required);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw invalidField(field(key), 'format', 'an http:// or https:// URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalidField(field(key), 'format', 'an http:// or https:// URL');
    // Credentials belong in their own settings (or the environment), never in a URL that may be logged.
    if (parsed.username || parsed.password) throw invalidField(field(key), 'format', 'a URL without user or password in it');
    return v;
  };
  const prefix = (): string => {
    const p = text('prefix') ?? '';
    if (p !== '' && (!/^[A-Za-z0-9_~-][A-Za-z0-9._~/-]{0,511}$/.test(p) || p.split('/').includes('..'))) throw invalidField(field('prefix'), 'pattern', 'letters, digits and . _ ~ - /, relative, without ".." segments');
    return p;
  };
  const common = (): StoreCommonConfig => ({ timeoutMs: int('timeout_ms', 30_000, 100, 3_600_000), retries: int('retries', 3, 0, 10) });

  switch (type) {
    case 'fs':
      return {
        type,
        path: resolve(defaults.expandHome(text('path') ?? join(defaults.dataDir, name === 'fs' ? 'images' : `images-${name}`))),
        fsync: bool('fsync', true),
      };
    case 's3': {
      const endpoint = url('endpoint', false);
      const accessKeyId = text('access_key_id');
      const secretAccessKey = text('secret_access_key');
      if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
        throw invalidField(field(accessKeyId === undefined ? 'access_key_id' : 'secret_access_key'), 'required', 'both access_key_id and secret_access_key, or neither (the AWS default chain)');
      }
      const sessionToken = text('session_token');
      const bucket = text('bucket', true)!;
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw invalidField(field('bucket'), 'pattern', 'a bucket name (3-63 lowercase letters, digits, dots and hyphens)');
      return {
        type,
        ...common(),
        bucket,
        prefix: prefix(),
        region: text('region') ?? 'us-east-1',
        ...(endpoint ? { endpoint } : {}),
        // S3-compatible services (an endpoint given) rarely have virtual-host names for buckets.
        forcePathStyle: bool('force_path_style', endpoint !== undefined),
        ...(accessKeyId ? { accessKeyId } : {}),
        ...(secretAccessKey ? { secretAccessKey } : {}),
        ...(sessionToken ? { sessionToken } : {}),
        partSize: int('part_size', 16 * MiB, 5 * MiB, 5 * 1024 * MiB),
        parallelParts: int('parallel_parts', 4, 1, 64),
        maxParts: int('max_parts', 10_000, 1, 10_000),
      };
    }
    case 'swift': {
      const authUrl = url('auth_url')!;
      const authVersion = int('auth_version', /\/v3\/?$/.test(authUrl) ? 3 : 1, 1, 3);
      if (authVersion === 2) throw invalidField(field('auth_version'), 'enum', '1 (TempAuth) or 3 (Keystone)');
      const container = text('container', true)!;
      if (!/^[^/]{1,256}$/.test(container)) throw invalidField(field('container'), 'pattern', 'a container name without "/"');
      const segmentContainer = text('segment_container') ?? `${container}_segments`;
      if (!/^[^/]{1,256}$/.test(segmentContainer) || segmentContainer === container) throw invalidField(field('segment_container'), 'pattern', 'a container name without "/", other than container');
      const key = authVersion === 1 ? text('key', true) : undefined;
      const password = authVersion === 3 ? text('password', true) : undefined;
      const project = authVersion === 3 ? text('project', true) : undefined;
      const region = text('region');
      const iface = text('interface') ?? 'public';
      if (!['public', 'internal', 'admin'].includes(iface)) throw invalidField(field('interface'), 'enum', 'public, internal or admin');
      return {
        type,
        ...common(),
        authUrl,
        authVersion: authVersion as 1 | 3,
        user: text('user', true)!,
        ...(key ? { key } : {}),
        ...(password ? { password } : {}),
        userDomain: text('user_domain') ?? 'Default',
        ...(project ? { project } : {}),
        projectDomain: text('project_domain') ?? 'Default',
        ...(region ? { region } : {}),
        interface: iface,
        container,
        segmentContainer,
        prefix: prefix(),
        segmentSize: int('segment_size', 1024 * MiB, 1, 5 * 1024 * MiB),
        maxSegments: int('max_segments', 1000, 1, 1_000_000),
      };
    }
    case 'http':
      return { type, ...common(), url: url('url')! };
    case 'hdfs': {
      const user = text('user');
      const delegationToken = text('delegation_token');
      const path = text('path') ?? '/visor';
      if (!/^\/[A-Za-z0-9._\-/]*$/.test(path) || path.split('/').includes('..')) throw invalidField(field('path'), 'pattern', 'an absolute HDFS path');
      return { type, ...common(), url: url('url')!, path, ...(user ? { user } : {}), ...(delegationToken ? { delegationToken } : {}) };
    }
  }
}

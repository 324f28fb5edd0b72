import { invalidField } from '../errors/VisorError.ts';
import { storeTypeNamed, type StoreConfig } from '../store/storeRegistry.ts';

/**
 * What a follower does with the files of the images an upstream brings (Pulp's policies): `off`, the
 * records only; `on_demand`, fetched from the upstream at the first download and kept; `immediate`,
 * also fetched in the background after each sync that brings them.
 */
export type UpstreamFilePolicy = 'off' | 'on_demand' | 'immediate';

/** An upstream's file policy, where its files come from and go, and which of them (à la sstream-mirror). */
export interface UpstreamFiles {
  policy: UpstreamFilePolicy;
  /** The upstream VISOR daemon's API base URL: its GET /images/<id>/file serves public images anonymously. */
  url: string | undefined;
  /** The local store the fetched files are kept in. */
  store: string;
  /** Only images of these architectures have their files fetched (none: any). */
  architectures: string[] | undefined;
  /** Only images of these series (none: any, and images outside a series too). */
  series: string[] | undefined;
  /** Only the newest N available images of each series (none: all). */
  keepNewest: number | undefined;
}

/** The settings of upstreams.<name> that are about files. */
export const UPSTREAM_FILE_KEYS = ['files', 'files_url', 'files_store', 'architecture', 'series', 'keep_newest'] as const;

export interface UpstreamFileSettings {
  files?: string;
  files_url?: string;
  files_store?: string;
  architecture?: string[];
  series?: string[];
  keep_newest?: number;
}

const POLICIES: readonly UpstreamFilePolicy[] = ['off', 'on_demand', 'immediate'];
const SERIES = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const ARCHITECTURE = /^[a-z0-9_]{1,32}$/;

function names(value: unknown, field: string, pattern: RegExp, what: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || !pattern.test(v))) {
    throw invalidField(field, 'type', `a non-empty list of ${what}`);
  }
  return [...new Set(value as string[])];
}

/** Reads and checks upstreams.<name>'s file settings; `stores` are the configured ones, `defaultStore` the default. */
export function parseUpstreamFiles(name: string, u: UpstreamFileSettings, stores: Record<string, StoreConfig>, defaultStore: string): UpstreamFiles {
  const field = (key: string) => `upstreams.${name}.${key}`;
  const policy = u.files ?? 'off';
  if (!POLICIES.includes(policy as UpstreamFilePolicy)) throw invalidField(field('files'), 'enum', `one of ${POLICIES.join(', ')}`);
  let url: string | undefined;
  if (u.files_url !== undefined) {
    const parsed = typeof u.files_url === 'string' && URL.canParse(u.files_url) ? new URL(u.files_url) : undefined;
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search !== '' || parsed.hash !== '') {
      throw invalidField(field('files_url'), 'url', 'the http(s) base URL of the upstream VISOR daemon, such as https://images.example.org');
    }
    // Credentials in it would go to every redirect target and into logs: public images need none.
    if (parsed.username !== '' || parsed.password !== '') throw invalidField(field('files_url'), 'url', 'a URL without credentials (public images are served anonymously)');
    url = parsed.href.replace(/\/+$/, '');
  }
  if (policy !== 'off' && url === undefined) throw invalidField(field('files_url'), 'required', `the upstream daemon's base URL, since upstreams.${name}.files is ${policy}`);
  const store = u.files_store ?? defaultStore;
  const config = stores[store];
  if (!config) throw invalidField(field('files_store'), 'exists', `one of the configured stores: ${Object.keys(stores).join(', ')}`);
  if (policy !== 'off' && storeTypeNamed(config.type)?.readOnly) throw invalidField(field('files_store'), 'writable', `a store VISOR writes to (${store} is of type ${config.type})`);
  let keepNewest: number | undefined;
  if (u.keep_newest !== undefined) {
    const n = typeof u.keep_newest === 'string' && /^\d+$/.test(u.keep_newest) ? Number(u.keep_newest) : u.keep_newest;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1_000_000) throw invalidField(field('keep_newest'), 'range', 'an integer from 1 to 1000000');
    keepNewest = n;
  }
  return {
    policy: policy as UpstreamFilePolicy,
    url,
    store,
    architectures: names(u.architecture, field('architecture'), ARCHITECTURE, 'architecture names (x86_64, aarch64, ...)'),
    series: names(u.series, field('series'), SERIES, 'series names'),
    keepNewest,
  };
}

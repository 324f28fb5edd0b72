import { invalidField } from '../errors/VisorError.ts';

/** One store's table in the configuration file: `type` and that type's settings (snake_case). */
export type StoreSettings = Record<string, string | number | boolean | undefined>;

export interface StoreCommonConfig {
  /** Idle time after which a request to the store is given up (and retried when that is safe). */
  timeoutMs: number;
  /** Further attempts on transient failures (network errors, 5xx, 429), with backoff. */
  retries: number;
}

/** The settings every remote store takes, besides `type`. */
export const COMMON_SETTINGS = ['timeout_ms', 'retries'] as const;

/** VISOR_STORE_<NAME>_<SETTING>: how any store setting, credentials above all, comes from the environment. */
export function storeEnvName(store: string, setting: string): string {
  return `VISOR_STORE_${store.toUpperCase().replace(/-/g, '_')}_${setting.toUpperCase()}`;
}

/**
 * Reads the settings of one store: each from its table, overridden by VISOR_STORE_<NAME>_<SETTING>,
 * checked by kind. Every problem names the setting (stores.<name>.<setting>), so the adapters' parsers
 * only say which settings they take and what each must be.
 */
export class StoreSettingsReader {
  readonly name: string;
  private readonly table: StoreSettings;
  private readonly env: NodeJS.ProcessEnv;

  constructor(name: string, table: StoreSettings, env: NodeJS.ProcessEnv) {
    this.name = name;
    this.table = table;
    this.env = env;
  }

  /** stores.<name>.<setting>, as problems name it. */
  field(key: string): string {
    return `stores.${this.name}.${key}`;
  }

  value(key: string): string | number | boolean | undefined {
    return this.env[storeEnvName(this.name, key)] ?? this.table[key];
  }

  text(key: string, required = false): string | undefined {
    const v = this.value(key);
    if (v === undefined || v === '') {
      if (required) throw invalidField(this.field(key), 'required', `a value (or ${storeEnvName(this.name, key)})`);
      return undefined;
    }
    if (typeof v !== 'string') throw invalidField(this.field(key), 'type', 'a string');
    return v;
  }

  /** A text that must be there. */
  required(key: string): string {
    return this.text(key, true)!;
  }

  int(key: string, fallback: number, min: number, max: number): number {
    const raw = this.value(key) ?? fallback;
    const n = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw invalidField(this.field(key), 'range', `an integer from ${min} to ${max}`);
    return n;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key) ?? fallback;
    if (v === true || v === 'true' || v === '1') return true;
    if (v === false || v === 'false' || v === '0') return false;
    throw invalidField(this.field(key), 'type', 'true or false');
  }

  /** An http(s) URL without credentials in it. */
  url(key: string, required: false): string | undefined;
  url(key: string, required?: true): string;
  url(key: string, required = true): string | undefined {
    const v = this.text(key, required);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw invalidField(this.field(key), 'format', 'an http:// or https:// URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalidField(this.field(key), 'format', 'an http:// or https:// URL');
    // Credentials belong in their own settings (or the environment), never in a URL that may be logged.
    if (parsed.username || parsed.password) throw invalidField(this.field(key), 'format', 'a URL without user or password in it');
    return v;
  }

  /** An object-name prefix inside a bucket or container: relative, no dot segments. */
  prefix(): string {
    const p = this.text('prefix') ?? '';
    if (p !== '' && (!/^[A-Za-z0-9_~-][A-Za-z0-9._~/-]{0,511}$/.test(p) || p.split('/').includes('..'))) throw invalidField(this.field('prefix'), 'pattern', 'letters, digits and . _ ~ - /, relative, without ".." segments');
    return p;
  }

  /** timeout_ms and retries, as every remote store takes them. */
  common(): StoreCommonConfig {
    return { timeoutMs: this.int('timeout_ms', 30_000, 100, 3_600_000), retries: this.int('retries', 3, 0, 10) };
  }
}

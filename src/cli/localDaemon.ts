import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VisorConfig } from '../config/VisorConfig.ts';

/** The daemon of this host as its own configuration describes it: where it listens and its admin-token file. */
export interface LocalDaemon {
  /** The origins at which it listens ([] when its port is chosen at start, 0). */
  origins: string[];
  adminTokenPath: string;
}

/**
 * Reads the local daemon's configuration the way the daemon does (VISOR_CONFIG, else
 * <data dir>/visor.toml, with the VISOR_* variables over it). Undefined when it cannot be read:
 * a daemon that could not start on it holds no key worth sending.
 */
export async function localDaemon(env: NodeJS.ProcessEnv, homeDir: string): Promise<LocalDaemon | undefined> {
  const { loadConfig } = await import('../config/VisorConfig.ts');
  let config: VisorConfig;
  try {
    config = loadConfig({ env: { ...env, HOME: env['HOME'] ?? homeDir } });
  } catch {
    return undefined;
  }
  const { server, dataDir } = config;
  return { origins: listenOrigins(server.host, server.port, server.tls !== undefined), adminTokenPath: join(dataDir, 'admin-token') };
}

/**
 * Where a client on this host reaches a daemon listening on host:port. A wildcard address is reached
 * on loopback (IPv4, and IPv6 too for '::'); any other host only as configured, so a name such as
 * `localhost` that may resolve elsewhere (e.g. to ::1, where another user could listen) never matches
 * 127.0.0.1 or the other way round.
 */
function listenOrigins(host: string, port: number, tls: boolean): string[] {
  if (port === 0) return [];
  const hosts = host === '0.0.0.0' ? ['127.0.0.1'] : host === '::' || host === '' ? ['127.0.0.1', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
  const origins: string[] = [];
  for (const h of hosts) {
    try {
      origins.push(new URL(`${tls ? 'https' : 'http'}://${h}:${port}`).origin);
    } catch {
      // A host no URL can name: nothing reaches it under that name.
    }
  }
  return origins;
}

/** The admin token is only a convenience; any failure to read it just means there is none. */
export async function readAdminToken(path: string): Promise<string | undefined> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    return token === '' ? undefined : token;
  } catch {
    return undefined;
  }
}

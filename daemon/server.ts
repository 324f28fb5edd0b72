import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadConfig, type ConfigFile, type VisorConfig } from '../src/config/VisorConfig.ts';
import { createLogger, type Logger } from '../src/log/Logger.ts';
import { VisorCore } from '../src/service/VisorCore.ts';
import { AdminTokenAuthenticator, loadOrCreateAdminToken } from '../src/auth/AdminTokenAuthenticator.ts';
import { createApp } from './app.ts';

export interface DaemonOptions {
  configPath?: string;
  overrides?: ConfigFile;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Print a newly created admin token on stderr (default true). */
  announceToken?: boolean;
}

export interface RunningDaemon {
  url: string;
  token: string;
  config: VisorConfig;
  core: VisorCore;
  close(): Promise<void>;
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/** Starts the daemon: loads the catalogue, opens the stores, listens. Resolves once it serves requests. */
export async function startDaemon(options: DaemonOptions = {}): Promise<RunningDaemon> {
  const config = loadConfig({
    ...(options.configPath !== undefined ? { configPath: options.configPath } : {}),
    ...(options.overrides ? { overrides: options.overrides } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const logger = options.logger ?? createLogger(config.log.level);
  const core = await VisorCore.open(config, logger);
  const tokenFile = join(config.dataDir, ADMIN_TOKEN_FILE);
  const { token, created } = await loadOrCreateAdminToken(tokenFile);
  if (created && options.announceToken !== false) {
    // Plain stderr, not the structured log: a secret must not travel into log aggregation.
    process.stderr.write(`\nVISOR admin token (shown once; also stored in ${tokenFile}, mode 0600):\n  ${token}\n\n`);
  }
  const app = createApp(core, new AdminTokenAuthenticator(token), logger);
  const server: Server = createServer(app.callback());
  // Uploads of many GiB may take long; only idle connections time out.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 65_000;
  server.listen(config.server.port, config.server.host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  if (!config.server.publicUrl) core.service.publicUrl = url;
  logger.info({ url, catalog: config.catalog.path, images: core.service.size }, 'visor daemon ready');
  return {
    url,
    token,
    config,
    core,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      // Transfers in flight get a grace period, then are cut: a stop must not hang on a slow client.
      const cut = setTimeout(() => server.closeAllConnections(), 5000);
      await closed.catch(() => undefined);
      clearTimeout(cut);
      await core.close();
      logger.flush();
    },
  };
}

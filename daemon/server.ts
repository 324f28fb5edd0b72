import { createServer, type Server } from 'node:http';
import proxyaddr from 'proxy-addr';
import { addressResolver } from './clientAddress.ts';
import { createServer as createTlsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { loadConfig, type ConfigFile, type VisorConfig } from '../src/config/VisorConfig.ts';
import { createLogger, type Logger } from '../src/log/Logger.ts';
import type { VisorCore } from '../src/service/VisorCore.ts';
import type { HttpServices } from './app.ts';
import { dropEarlyScans, startEarlyScan } from '../src/service/EarlyScan.ts';
import { conflict, invalidField, unavailable, type VisorError } from '../src/errors/VisorError.ts';
import { DataDirectoryLock } from '../src/service/DataDirectoryLock.ts';
import type { ServiceMetrics } from '../src/tracking/ServiceMetrics.ts';
import { requestObserver } from './requestMetrics.ts';
import type { AnyTokenAccount } from '../src/glance/AnyTokenAccount.ts';

export interface DaemonOptions {
  configPath?: string;
  overrides?: ConfigFile;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Print a newly created admin token on stderr (default true). */
  announceToken?: boolean;
  /** Answer the hot reads on node:http, not through Koa (default true; tests compare both). */
  hotReads?: boolean;
}

export interface RunningDaemon {
  url: string;
  /** The first admin's key from the admin-token file ('' once that file was removed). */
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
  // Certificate files are read before anything opens, so a bad path stops the start cleanly.
  const tls = config.server.tls;
  const tlsFiles = tls ? { cert: readTlsFile(tls.cert, 'server.tls_cert'), key: readTlsFile(tls.key, 'server.tls_key') } : undefined;
  // One daemon per data directory and catalogue, settled before anything there is read or written.
  const lock = DataDirectoryLock.acquire(config, logger);
  await assertAddressFree(config.server.host, config.server.port).catch((error: unknown) => {
    lock.release();
    throw error;
  });
  // A first start's scans begin before the rest of the daemon loads: they are most of that start.
  startEarlyScan(config);
  let opening: Promise<VisorCore>;
  try {
    const { VisorCore } = await import('../src/service/VisorCore.ts');
    opening = VisorCore.open(config, logger, lock);
  } catch (error) {
    dropEarlyScans(config);
    lock.release();
    throw error;
  }
  // Its failure is reported by the await below, even when it comes before the import is done.
  opening.catch(() => undefined);
  // The HTTP stack loads while the catalogue is read (a first start's scan has a worker meanwhile).
  const [{ createApp }, { withHotReads }, { auditClientErrors }, { coreMetrics }, anyTokenModule] = await Promise.all([import('./app.ts'), import('./hotReads.ts'), import('./auditTrail.ts'), import('../src/service/coreMetrics.ts'), import('../src/glance/AnyTokenAccount.ts')]).catch(async (error: unknown) => {
    await opening.then((c) => c.close()).catch(() => undefined);
    lock.release();
    throw error;
  });
  const core = await opening.catch((error: unknown) => {
    lock.release();
    throw error;
  });
  const { adminToken: token, adminTokenCreated: created, adminTokenFile } = core.accessControl;
  if (created && options.announceToken !== false) {
    // Plain stderr, not the structured log: a secret must not travel into log aggregation.
    process.stderr.write(`\nVISOR admin token (shown once; also stored in ${adminTokenFile.path}, mode 0600):\n  ${token}\n\n`);
  }
  const auth = core.accessControl.authenticator;
  const metrics = coreMetrics(core);
  let anyToken: AnyTokenAccount | undefined;
  try {
    anyToken = anyTokenAccountOf(core, logger, anyTokenModule);
  } catch (error) {
    await core.close().catch(() => undefined);
    lock.release();
    throw error;
  }
  const app = createApp({ ...httpServicesOf(core, metrics), ...(anyToken ? { anyToken } : {}) }, logger).callback();
  // At debug level every request takes the full path, where its request line is logged.
  const hot = options.hotReads !== false && !logger.isLevelEnabled('debug');
  // Timeouts and connection caps (server.*_timeout_seconds, server.max_connections*).
  const { ConnectionPolicy } = await import('./connectionLimits.ts');
  const policy = new ConnectionPolicy(config.server.limits);
  const handler = hot ? withHotReads({ service: core.images, pages: core.pages, auth, audit: core.accessControl.audit, observe: requestObserver(metrics), ...(anyToken ? { anyToken } : {}) }, app) : app;
  const { trustedProxies } = core.config.server;
  const resolve = addressResolver(trustedProxies.length > 0 ? proxyaddr.compile(trustedProxies) : undefined);
  const listener = policy.guard((req, res) => {
    resolve(req);
    handler(req, res);
  });
  const server: Server = tlsFiles ? createTlsServer({ ...tlsFiles, ...policy.serverOptions }, listener) : createServer(policy.serverOptions, listener);
  auditClientErrors(server, core.accessControl.audit);
  policy.attach(server);
  server.listen(config.server.port, config.server.host);
  await once(server, 'listening').catch(async (error: unknown) => {
    // A start that cannot listen closes what it opened and says which address is taken.
    await core.close().catch(() => undefined);
    lock.release();
    throw listenFailure(error as NodeJS.ErrnoException, config.server.host, config.server.port);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${host}:${address.port}`;
  if (!tls && !isLoopback(address.address)) {
    logger.warn({ url }, 'serving plain HTTP beyond loopback: API keys cross the network readable; configure server.tls_cert and server.tls_key or a TLS proxy');
  }
  if (!config.server.publicUrl) core.views.publicUrl = url;
  lock.announce(url);
  logger.info({ url, catalog: config.catalog.path, images: core.images.size }, 'visor daemon ready');
  return {
    url,
    token,
    config,
    core,
    async close() {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      // A connection whose request ends during the grace turns idle (keep-alive): it is closed then,
      // not when its keep-alive times out.
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      // Transfers in flight get a grace period, then are cut: a stop must not hang on a slow client.
      // Uploads stop first, so that each records why (marked error, its partial file removed).
      const cut = setTimeout(() => {
        void core.uploads.stop();
        server.closeAllConnections();
      }, config.server.shutdownGraceSeconds * 1000);
      await closed.catch(() => undefined);
      clearInterval(sweep);
      clearTimeout(cut);
      try {
        await core.close();
      } finally {
        lock.release();
      }
      logger.flush();
    },
  };
}

/**
 * glance.any_token_account: refused at the start when it names no enabled account (a typo would
 * otherwise show only as 401s), and warned of, as it lets anyone with network access act as it.
 */
function anyTokenAccountOf(core: VisorCore, logger: Logger, { AnyTokenAccount, whyNot }: typeof import('../src/glance/AnyTokenAccount.ts')): AnyTokenAccount | undefined {
  const name = core.config.glance.anyTokenAccount;
  if (name === undefined) return undefined;
  const accounts = core.accessControl.accounts;
  const why = whyNot(name, accounts.principalOfAccount(name));
  if (why) throw invalidField('glance.any_token_account', 'ordinary-account', 'the name of an enabled account that is neither an administrator nor a sync account', why);
  logger.warn({ account: name }, 'glance.any_token_account is set: any X-Auth-Token on /v2 that is not a VISOR key acts as this account; for closed test clouds only');
  return new AnyTokenAccount(name, (n) => accounts.principalOfAccount(n));
}

/** What each route of the HTTP edge calls: the core's narrow services, never the whole core. */
function httpServicesOf(core: VisorCore, metrics: ServiceMetrics): HttpServices {
  const { accessControl } = core;
  return {
    images: core.images,
    pages: core.pages,
    schema: core.schema,
    files: { views: core.views, uploads: core.uploads, downloads: core.downloads, copier: core.copier, webDownloads: core.webDownloads, linker: core.linker, inspections: core.inspections, scans: core.scans, metrics },
    stores: core.storeDirectory,
    collector: core.collector,
    accounts: accessControl.accounts,
    reports: accessControl.reports,
    follower: core.follower,
    policy: core.policy,
    staticView: core.staticView,
    headStatement: () => {
      const statement = core.headPublisher?.current;
      return statement && core.instanceKey ? { statement, key: core.instanceKey.publicKeyLine(statement.statement.instance) } : undefined;
    },
    health: (who) => core.health(who),
    audit: accessControl.audit,
    auth: accessControl.authenticator,
    sharedCatalogDir: core.catalogs.shared.dir,
    maxJsonBytes: core.config.server.maxJsonBytes,
    metrics,
  };
}

function readTlsFile(path: string, setting: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw invalidField(setting, 'readable', 'a readable PEM file', `${setting}: cannot read ${path}: ${(e as Error).message}`);
  }
}

/**
 * Fails at once when the address is taken (a second `npm start`), before the start opens anything.
 * The daemon cannot listen this early instead: it would accept connections it cannot answer yet. A
 * port taken between this probe and the listen still fails the start, after closing what it opened.
 */
async function assertAddressFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createNetServer();
  probe.listen({ host, port, exclusive: true });
  try {
    await once(probe, 'listening');
  } catch (error) {
    throw listenFailure(error as NodeJS.ErrnoException, host, port);
  }
  await new Promise((closed) => probe.close(closed));
}

function listenFailure(error: NodeJS.ErrnoException, host: string, port: number): VisorError {
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return conflict(`cannot listen on ${at}: the address is already in use (another VISOR daemon, or another program, listens there); stop it, or set server.port (VISOR_PORT) to a free port`);
  }
  if (error.code === 'EACCES') return unavailable(`cannot listen on ${at}: permission denied (ports below 1024 need privileges); set server.port (VISOR_PORT)`, error);
  if (error.code === 'EADDRNOTAVAIL') return unavailable(`cannot listen on ${at}: ${host} is not an address of this host; set server.host (VISOR_HOST)`, error);
  return unavailable(`cannot listen on ${at}: ${error.message}`, error);
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}

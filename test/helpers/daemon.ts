import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, type RunningDaemon } from '../../daemon/server.ts';
import type { ConfigFile } from '../../src/config/VisorConfig.ts';
import type { Logger } from 'pino';

export interface TestDaemon {
  url: string;
  token: string;
  dataDir: string;
  daemon: RunningDaemon;
  stop(): Promise<void>;
  /** Stops and starts again on the same data directory (and port), as an operator's restart would. */
  restart(): Promise<TestDaemon>;
}

/** A real daemon on 127.0.0.1 and a free port, with a fresh catalogue in a temporary directory. */
export async function startTestDaemon(opts: { config?: ConfigFile; dataDir?: string; hotReads?: boolean; logger?: Logger } = {}): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'visor-test-')));
  const overrides: ConfigFile = {
    ...opts.config,
    data_dir: dataDir,
    server: { port: 0, ...opts.config?.server },
    log: { level: 'silent', ...opts.config?.log },
    // Key hashes at the lowest cost (~1 ms, not ~100): the suite makes hundreds of keys.
    auth: { key_hash_cost: 10, ...opts.config?.auth },
  };
  // An empty environment keeps a developer's VISOR_* variables out of the tests.
  const daemon = await startDaemon({
    overrides,
    env: { HOME: process.env['HOME'] ?? '/root' },
    announceToken: false,
    ...(opts.hotReads !== undefined ? { hotReads: opts.hotReads } : {}),
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
  const handle: TestDaemon = {
    url: daemon.url,
    token: daemon.token,
    dataDir,
    daemon,
    async stop() {
      await daemon.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await daemon.close();
      const port = Number(new URL(daemon.url).port);
      return startTestDaemon({ ...opts, dataDir, config: { ...opts.config, server: { ...opts.config?.server, port } } });
    },
  };
  return handle;
}

import { constants } from 'node:os';
import type { Command } from 'commander';
import type { CliSession } from '../src/cli/CliSession.ts';

interface ServeOptions {
  config?: string;
}

/** What closing may take once the grace period is over (the catalogue's last commits, the snapshot). */
const CLOSE_LIMIT_MS = 10_000;
/** How long a process that has nothing left to do may linger before it is ended. */
const LINGER_MS = 1000;

/** `visor serve`: the daemon, added to the CLI's commands by the `visor` program (daemon/visor.ts). */
export function registerServeCommand(program: Command, session: CliSession): void {
  program
    .command('serve')
    .description('run the VISOR daemon until SIGINT or SIGTERM (a second one stops it at once)')
    .option('--config <file>', 'daemon configuration (TOML)')
    .action(async (options: ServeOptions) => {
      // Loaded on demand: client commands should not pay for loading the daemon.
      const { startDaemon } = await import('./server.ts');
      const daemon = await startDaemon({ configPath: options.config }).catch((error: unknown) => {
        // A failed start has closed what it opened; the error is reported and the process ends.
        exitWhenDone();
        throw error;
      });
      // Listening for signals before saying it serves: one sent on that word must not find the default action.
      const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      session.output.note(`visor: serving on ${daemon.url}`);
      const signal = await stopSignal;
      const grace = daemon.config.server.shutdownGraceSeconds;
      session.output.note(`visor: ${signal}, shutting down (requests in flight have ${grace} s; a second signal stops at once)`);
      // The operator has decided not to wait: what is not committed is recovered at the next start.
      const now = (again: NodeJS.Signals) => {
        session.output.note(`visor: ${again} again, stopping now`);
        process.exit(128 + constants.signals[again]);
      };
      process.once('SIGINT', now);
      process.once('SIGTERM', now);
      // Bounded even if closing hangs: a stop must end.
      const limit = setTimeout(() => {
        session.output.note(`visor: shutdown did not finish within ${grace} s + ${CLOSE_LIMIT_MS / 1000} s; stopping now`);
        process.exit(1);
      }, grace * 1000 + CLOSE_LIMIT_MS);
      limit.unref();
      await daemon.close();
      clearTimeout(limit);
      exitWhenDone();
    });
}

/** Ends the process should anything still hold it once its work is done (the exit code is set by then). */
function exitWhenDone(): void {
  setTimeout(() => process.exit(), LINGER_MS).unref();
}

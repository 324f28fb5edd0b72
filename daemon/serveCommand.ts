import type { Command } from 'commander';
import type { CliSession } from '../src/cli/CliSession.ts';

interface ServeOptions {
  config?: string;
}

/** `visor serve`: the daemon, added to the CLI's commands by the `visor` program (daemon/visor.ts). */
export function registerServeCommand(program: Command, session: CliSession): void {
  program
    .command('serve')
    .description('run the VISOR daemon until SIGINT or SIGTERM')
    .option('--config <file>', 'daemon configuration (TOML)')
    .action(async (options: ServeOptions) => {
      // Loaded on demand: client commands should not pay for loading the daemon.
      const { startDaemon } = await import('./server.ts');
      const daemon = await startDaemon({ configPath: options.config });
      session.output.note(`visor: serving on ${daemon.url}`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      session.output.note(`visor: ${signal}, shutting down`);
      await daemon.close();
    });
}

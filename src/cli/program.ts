import { Command, CommanderError } from 'commander';
import { CliSession } from './CliSession.ts';
import { registerAddCommand } from './commands/add.ts';
import { registerCatalogCommand } from './commands/catalog.ts';
import { registerDeleteCommand } from './commands/delete.ts';
import { registerDetailCommand } from './commands/detail.ts';
import { registerDownloadCommand } from './commands/download.ts';
import { registerLatestCommand } from './commands/latest.ts';
import { registerHistoryCommand } from './commands/history.ts';
import { registerMirrorCommand } from './commands/mirror.ts';
import { registerPublishCommand } from './commands/publish.ts';
import { registerListCommand } from './commands/list.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerShowCommand } from './commands/show.ts';
import { registerUpdateCommand } from './commands/update.ts';
import { registerUploadCommand } from './commands/upload.ts';
import { registerUserCommand } from './commands/user.ts';
import { registerGroupCommand } from './commands/group.ts';
import { registerGrantCommands } from './commands/grant.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerCopyCommand } from './commands/copy.ts';
import { registerStoreCommand } from './commands/storeGc.ts';
import { errorReportLines } from './errorReport.ts';
import { exitCodeFor } from './exitCodeFor.ts';
import { ExitCode } from './ExitCode.ts';

const COMMANDS = [
  registerServeCommand,
  registerAddCommand,
  registerListCommand,
  registerDetailCommand,
  registerShowCommand,
  registerUpdateCommand,
  registerDeleteCommand,
  registerUploadCommand,
  registerDownloadCommand,
  registerLatestCommand,
  registerHistoryCommand,
  registerMirrorCommand,
  registerPublishCommand,
  registerCatalogCommand,
  registerGrantCommands,
  registerUserCommand,
  registerGroupCommand,
  registerReportCommand,
  registerCopyCommand,
  registerStoreCommand,
];

/** Runs `visor` with the given arguments (without node and script) and answers the exit code. */
export async function runVisor(args: readonly string[]): Promise<ExitCode> {
  const program = new Command('visor')
    .description('VISOR: virtual-machine images, catalogued in Git')
    .option('--url <url>', 'daemon URL (env VISOR_URL; default http://127.0.0.1:4568)')
    .option('--token <key>', 'API key (visor_<key id>_<secret>) for writes and private images (env VISOR_TOKEN)')
    .option('--json', 'print results as JSON on stdout, for scripts')
    // Set before adding commands: subcommands inherit both settings.
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(message.replace(/^error: /, 'visor: ')) });
  const session = new CliSession(program);
  for (const register of COMMANDS) register(program, session);

  try {
    await program.parseAsync(args, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    const code = exitCodeFor(error);
    // Commander has already printed its own usage errors (and help, exit 0).
    if (!(error instanceof CommanderError)) {
      const lines = errorReportLines(error, {
        hadToken: session.connection?.token !== undefined,
        debug: process.env['VISOR_DEBUG'] !== undefined,
      });
      process.stderr.write(`${lines.join('\n')}\n`);
    }
    return code;
  }
}

import { Command, CommanderError } from 'commander';
import { CliSession } from './CliSession.ts';
import { EXIT_CODE_MEANINGS, ExitCode } from './ExitCode.ts';
import { examplesHelp } from './commandExamples.ts';
import { VISOR_VERSION } from '../api/visorVersion.ts';

type Register = (program: Command, session: CliSession) => void;

/** A command (or a few sharing a module), registered only when it is the one run, or for help. */
export interface CommandEntry {
  names: readonly string[];
  load: () => Promise<Register>;
  /** Needs every command registered, not just its own (shell completion describes them all). */
  needsAll?: true;
}

/**
 * Commands load on demand: a run of one command loads only its own module (the daemon, a
 * long-running `visor serve`, then never holds the HTTP client, tables or progress bars).
 * Help and unknown commands load them all.
 */
const COMMANDS: readonly CommandEntry[] = [
  { names: ['add'], load: async () => (await import('./commands/add.ts')).registerAddCommand },
  { names: ['list'], load: async () => (await import('./commands/list.ts')).registerListCommand },
  { names: ['detail'], load: async () => (await import('./commands/detail.ts')).registerDetailCommand },
  { names: ['show'], load: async () => (await import('./commands/show.ts')).registerShowCommand },
  { names: ['update'], load: async () => (await import('./commands/update.ts')).registerUpdateCommand },
  { names: ['delete'], load: async () => (await import('./commands/delete.ts')).registerDeleteCommand },
  { names: ['upload'], load: async () => (await import('./commands/upload.ts')).registerUploadCommand },
  { names: ['download'], load: async () => (await import('./commands/download.ts')).registerDownloadCommand },
  { names: ['latest'], load: async () => (await import('./commands/latest.ts')).registerLatestCommand },
  { names: ['history'], load: async () => (await import('./commands/history.ts')).registerHistoryCommand },
  { names: ['mirror'], load: async () => (await import('./commands/mirror.ts')).registerMirrorCommand },
  { names: ['publish'], load: async () => (await import('./commands/publish.ts')).registerPublishCommand },
  { names: ['catalog'], load: async () => (await import('./commands/catalog.ts')).registerCatalogCommand },
  { names: ['grant', 'revoke', 'grants'], load: async () => (await import('./commands/grant.ts')).registerGrantCommands },
  { names: ['user'], load: async () => (await import('./commands/user.ts')).registerUserCommand },
  { names: ['group'], load: async () => (await import('./commands/group.ts')).registerGroupCommand },
  { names: ['report'], load: async () => (await import('./commands/report.ts')).registerReportCommand },
  { names: ['copy', 'link'], load: async () => (await import('./commands/copy.ts')).registerCopyCommand },
  { names: ['inspect'], load: async () => (await import('./commands/inspect.ts')).registerInspectCommand },
  { names: ['endorse'], load: async () => (await import('./commands/endorse.ts')).registerEndorseCommand },
  { names: ['trust'], load: async () => (await import('./commands/trust.ts')).registerTrustCommand },
  { names: ['verify'], load: async () => (await import('./commands/verify.ts')).registerVerifyCommand },
  { names: ['deprecate'], load: async () => (await import('./commands/deprecate.ts')).registerDeprecateCommand },
  { names: ['scan', 'release'], load: async () => (await import('./commands/scan.ts')).registerScanCommands },
  { names: ['store'], load: async () => (await import('./commands/storeGc.ts')).registerStoreCommand },
  { names: ['login', 'logout'], load: async () => (await import('./commands/login.ts')).registerLoginCommands },
  { names: ['completion'], load: async () => (await import('./commands/completion.ts')).registerCompletionCommand, needsAll: true },
  { names: ['hide', 'unhide', 'hidden'], load: async () => (await import('./commands/hide.ts')).registerHideCommands },
];

/**
 * The `visor` program, with the commands a run of `args` needs (all of them for help or an unknown
 * command). The client and catalogue commands are the CLI's own; `more` adds commands of other edges
 * (the daemon's `serve`), so the CLI never imports the daemon.
 */
export async function visorProgram(args: readonly string[], more: readonly CommandEntry[] = []): Promise<{ program: Command; session: CliSession }> {
  const commands = [...more, ...COMMANDS];
  const program = new Command('visor')
    .description('VISOR: virtual-machine images, catalogued in Git')
    .option('--url <url>', 'daemon URL (env VISOR_URL; default the config file\'s "url", else the local daemon\'s own address)')
    .option('--token <key>', 'API key (visor_<key id>_<secret>) for writes and private images, sent to the URL in use (env VISOR_TOKEN; else the config file\'s key for that URL)')
    .option('--json', 'print results as JSON on stdout, for scripts')
    .version(VISOR_VERSION, '-V, --version', 'print the version')
    // Set before adding commands: subcommands inherit these settings (each help page lists the global options).
    .exitOverride()
    .configureHelp({ showGlobalOptions: true })
    .configureOutput({ outputError: (message, write) => write(message.replace(/^error: /, 'visor: ')) });
  const session = new CliSession(program);
  const wanted = commands.filter((c) => c.names.includes(args[0] ?? ''));
  const loadAll = wanted.length === 0 || wanted.some((c) => c.needsAll === true);
  for (const command of loadAll ? commands : wanted) (await command.load())(program, session);
  addExamples(program, '');
  program.addHelpText('after', `\nExit codes:\n${EXIT_CODE_MEANINGS.map(([code, meaning]) => `  ${code}  ${meaning}`).join('\n')}`);
  return { program, session };
}

/** Runs `visor` with the given arguments (without node and script) and answers the exit code. */
export async function runVisor(args: readonly string[], more: readonly CommandEntry[] = []): Promise<ExitCode> {
  // `visor … | head`: a reader that closed early is not an error (as with git), so end quietly.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
    throw error;
  });
  const { program, session } = await visorProgram(args, more);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    const [{ exitCodeFor }, { errorReportLines }] = await Promise.all([import('./exitCodeFor.ts'), import('./errorReport.ts')]);
    const code = exitCodeFor(error);
    // Commander has already printed its own usage errors (and help, exit 0).
    if (!(error instanceof CommanderError)) {
      const lines = errorReportLines(error, {
        connection: session.connection,
        debug: process.env['VISOR_DEBUG'] !== undefined,
      });
      process.stderr.write(`${lines.join('\n')}\n`);
    }
    return code;
  }
}

/** Ends each command's help with its examples (src/cli/commandExamples.ts), subcommands included. */
function addExamples(command: Command, path: string): void {
  const examples = examplesHelp(path);
  if (examples !== undefined) command.addHelpText('after', examples);
  for (const sub of command.commands) addExamples(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
}

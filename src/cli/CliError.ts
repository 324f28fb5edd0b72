import { ExitCode } from './ExitCode.ts';

/** A failure detected by the CLI itself (bad arguments, unsafe config), carrying its exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = ExitCode.failure) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Arguments that cannot be understood: exit code 2, like a 400 from the daemon. */
export const invalidInput = (message: string): CliError => new CliError(message, ExitCode.usage);

import { CommanderError } from 'commander';
import { VisorClientError } from '../client/VisorClientError.ts';
import { VisorError } from '../errors/VisorError.ts';
import { CliError } from './CliError.ts';
import { ExitCode } from './ExitCode.ts';

/**
 * Exit codes by error code alone: the daemon's code from its answer (through VisorClientError) and
 * the core's kind (commands that run the core in-process, such as catalog init and validate) are one
 * vocabulary, so one table serves both.
 */
const EXIT_CODES: Record<string, ExitCode> = {
  invalid: ExitCode.usage,
  too_large: ExitCode.usage,
  range_not_satisfiable: ExitCode.usage,
  method_not_allowed: ExitCode.usage,
  not_found: ExitCode.notFound,
  conflict: ExitCode.conflict,
  precondition_failed: ExitCode.conflict,
  unauthenticated: ExitCode.auth,
  forbidden: ExitCode.auth,
  digest_mismatch: ExitCode.digestMismatch,
};

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  const code = error instanceof VisorClientError ? error.code : error instanceof VisorError ? error.kind : undefined;
  return (code === undefined ? undefined : EXIT_CODES[code]) ?? ExitCode.failure;
}

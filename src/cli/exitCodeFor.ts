import { CommanderError } from 'commander';
import { VisorClientError } from '../client/VisorClientError.ts';
import { VisorError, type ErrorKind } from '../errors/VisorError.ts';
import { CliError } from './CliError.ts';
import { ExitCode } from './ExitCode.ts';

const EXIT_CODES_BY_STATUS: Record<number, ExitCode> = {
  400: ExitCode.usage,
  401: ExitCode.auth,
  403: ExitCode.auth,
  404: ExitCode.notFound,
  409: ExitCode.conflict,
  412: ExitCode.conflict,
  413: ExitCode.usage,
  415: ExitCode.usage,
  416: ExitCode.usage,
};

/** For commands that run the core in-process (catalog init/validate, serve). */
const EXIT_CODES_BY_KIND: Partial<Record<ErrorKind, ExitCode>> = {
  invalid: ExitCode.usage,
  not_found: ExitCode.notFound,
  conflict: ExitCode.conflict,
  precondition_failed: ExitCode.conflict,
  unauthenticated: ExitCode.auth,
  forbidden: ExitCode.auth,
};

export function exitCodeFor(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  if (error instanceof VisorClientError) {
    if (error.code === 'digest_mismatch') return ExitCode.digestMismatch;
    return (error.status === undefined ? undefined : EXIT_CODES_BY_STATUS[error.status]) ?? ExitCode.failure;
  }
  if (error instanceof VisorError) return EXIT_CODES_BY_KIND[error.kind] ?? ExitCode.failure;
  return ExitCode.failure;
}

import { VisorError, type FieldProblem } from '../errors/VisorError.ts';
import { VisorClientError } from '../client/VisorClientError.ts';
import type { ConnectionSettings } from './connectionSettings.ts';
import { errorHints } from './errorHints.ts';

/** `field: message`, without repeating the field when the message already starts with it. */
export function describeProblem(problem: Pick<FieldProblem, 'field' | 'message'>): string {
  const { field, message } = problem;
  return field === '' || message.startsWith(`${field}:`) ? message : `${field}: ${message}`;
}

export interface ErrorReportContext {
  /** The daemon the command talked to, when it made a client: hints name its URL and where its key came from. */
  connection: ConnectionSettings | undefined;
  /** Print stacks of unexpected errors (VISOR_DEBUG set). */
  debug: boolean;
}

/**
 * The stderr lines for a failed command: `visor: <message>`, one indented line per field problem (each
 * said once), then hints where one helps.
 */
export function errorReportLines(error: unknown, context: ErrorReportContext): string[] {
  const message = error instanceof Error ? error.message : String(error);
  const problems = error instanceof VisorClientError || error instanceof VisorError ? error.problems : [];
  // The message spells its problems out on one line; people get a headline and a line each. A
  // message that is nothing but its one problem is that problem's line alone.
  const first = problems[0] ? message.indexOf(problems[0].message) : -1;
  const headline = first >= 0 ? message.slice(0, first).replace(/[\s:;]+$/, '') : message;
  const lines: string[] = [];
  if (headline === '' && problems.length === 1) lines.push(`visor: ${describeProblem(problems[0]!)}`);
  else {
    lines.push(`visor: ${headline === '' ? `${problems.length} problems` : headline}`);
    for (const problem of problems) lines.push(`  ${describeProblem(problem)}`);
  }
  for (const hint of errorHints(error, context.connection)) lines.push(`  ${hint}`);
  if (context.debug && error instanceof Error && error.stack) lines.push(error.stack);
  return lines;
}

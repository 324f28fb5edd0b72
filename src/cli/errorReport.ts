import { VisorError, type FieldProblem } from '../errors/VisorError.ts';
import { VisorClientError } from '../client/VisorClientError.ts';

/** `field: message`, without repeating the field when the message already starts with it. */
export function describeProblem(problem: Pick<FieldProblem, 'field' | 'message'>): string {
  const { field, message } = problem;
  return field === '' || message.startsWith(`${field}:`) ? message : `${field}: ${message}`;
}

export interface ErrorReportContext {
  /** Set when the request went without a key: a 401 then gets these lines on where a key can come from. */
  missingKey: string[] | undefined;
  /** Print stacks of unexpected errors (VISOR_DEBUG set). */
  debug: boolean;
}

/** The stderr lines for a failed command: `visor: <message>` and one indented line per field problem. */
export function errorReportLines(error: unknown, context: ErrorReportContext): string[] {
  const message = error instanceof Error ? error.message : String(error);
  const problems = error instanceof VisorClientError || error instanceof VisorError ? error.problems : [];
  // The daemon's message spells its problems out on one line; people get a headline and a line each.
  const first = problems[0] ? message.indexOf(problems[0].message) : -1;
  const lines = [`visor: ${first > 0 ? message.slice(0, first).replace(/[\s:;]+$/, '') : message}`];
  for (const problem of problems) lines.push(`  ${describeProblem(problem)}`);
  if (error instanceof VisorClientError && error.status === 401 && context.missingKey !== undefined) {
    for (const line of context.missingKey) lines.push(`  ${line}`);
  }
  if (context.debug && error instanceof Error && error.stack) lines.push(error.stack);
  return lines;
}

import type { Writable } from 'node:stream';

/**
 * Where results go: JSON on stdout for scripts (--json), text for people. Notes for people (hints,
 * summaries beside data on stdout) go to stderr so they never corrupt a result being piped.
 */
export class Output {
  readonly json: boolean;
  private readonly stdout: Writable;
  private readonly stderr: Writable;

  constructor(json: boolean, stdout: Writable = process.stdout, stderr: Writable = process.stderr) {
    this.json = json;
    this.stdout = stdout;
    this.stderr = stderr;
  }

  /** Prints a command's result: `value` as JSON, or the text `forPeople` renders. */
  result(value: unknown, forPeople: () => string): void {
    this.write(this.stdout, this.json ? JSON.stringify(value, null, 2) : forPeople());
  }

  /** Like result(), but on stderr: for commands whose stdout carries data (download to '-'). */
  resultBesideData(value: unknown, forPeople: () => string): void {
    this.write(this.stderr, this.json ? JSON.stringify(value, null, 2) : forPeople());
  }

  /** A remark for people only; nothing in --json mode. */
  note(message: string): void {
    if (!this.json) this.write(this.stderr, message);
  }

  private write(stream: Writable, text: string): void {
    if (text !== '') stream.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}

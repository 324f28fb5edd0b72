import { text } from 'node:stream/consumers';
import { CliError } from './CliError.ts';
import { ExitCode } from './ExitCode.ts';

/**
 * The API key for `visor login`: all of stdin when it is piped (or --token-stdin says so), else typed
 * at a prompt that does not echo it. Never from an argument, where other users' `ps` would see it.
 */
export async function readKey(question: string, fromStdin: boolean): Promise<string> {
  const typed = fromStdin || !process.stdin.isTTY ? await text(process.stdin) : await promptHidden(question);
  const key = typed.trim();
  if (key === '') throw new CliError('no API key given: type it at the prompt, or pipe it in (`visor login URL --token-stdin < key-file`)', ExitCode.usage);
  // A key travels in an HTTP header: control characters there would be refused, or worse, split it.
  if (/[^\x21-\x7e]/.test(key)) throw new CliError('the API key holds spaces or control characters: expected one like visor_<key id>_<secret>', ExitCode.usage);
  return key;
}

function promptHidden(question: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((done, fail) => {
    let typed = '';
    const finish = (outcome: () => void): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      outcome();
    };
    const onData = (chunk: string): void => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish(() => done(typed));
        if (char === '\u0003') return finish(() => fail(new CliError('interrupted', ExitCode.failure)));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}

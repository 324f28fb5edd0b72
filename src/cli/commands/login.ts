import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { CliError, invalidInput } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';
import { credentialsFilePath, removeCredential, saveCredential } from '../credentialsFile.ts';
import { readKey } from '../keyPrompt.ts';
import { serverUrl } from '../serverUrl.ts';
import { homedir } from 'node:os';

interface LoginOptions {
  tokenStdin?: boolean;
}

/** `visor login URL` and `visor logout [URL]`: a key kept for one daemon, sent to it and to no other. */
export function registerLoginCommands(program: Command, session: CliSession): void {
  program
    .command('login')
    .description('check an API key against a daemon and keep it for that daemon only (in the credentials file, mode 0600)')
    .argument('[url]', 'the daemon (default: the URL the CLI would use, from --url, VISOR_URL or the config file)')
    .option('--token-stdin', 'read the key from stdin instead of prompting for it')
    .action(async (url: string | undefined, options: LoginOptions) => {
      const target = filedUrl(url ?? (await session.connectionSettings()).url);
      const key = await readKey(`API key for ${target}: `, options.tokenStdin === true);
      if (!target.startsWith('https:') && !onThisHost(new URL(target).hostname)) {
        process.stderr.write(`visor: warning: ${target} is plain http: the key crosses the network unencrypted on every request\n`);
      }
      // Checked before anything is written: a mistyped or refused key is never kept.
      const [{ VisorClient }, { VisorClientError }] = await Promise.all([import('../../client/VisorClient.ts'), import('../../client/VisorClientError.ts')]);
      const me = await new VisorClient({ url: target, token: key, retries: 0 }).whoami().catch((error: unknown) => {
        // Said here, not by the general 401 hint, which is about the key a command sent, not this one.
        if (error instanceof VisorClientError && error.status === 401) throw new CliError(`${target} refused the key (${error.message}); nothing stored`, ExitCode.auth);
        throw error;
      });
      if (me.name === null) throw new CliError(`${target} did not recognise the key (it answered as if none was sent); nothing stored`, ExitCode.auth);
      const path = credentialsFilePath(process.env, homedir());
      await saveCredential(path, target, { key, account: me.name, saved_at: new Date().toISOString() });
      session.output.result({ url: target, account: me.name, credentials: path }, () => `logged in to ${target} as ${me.name}; the key is kept in ${path} and sent to ${target} only`);
    });

  program
    .command('logout')
    .description('forget the key `visor login` kept for a daemon')
    .argument('[url]', 'the daemon (default: the URL the CLI would use)')
    .action(async (url: string | undefined) => {
      const target = filedUrl(url ?? (await session.connectionSettings()).url);
      const path = credentialsFilePath(process.env, homedir());
      const removed = await removeCredential(path, target);
      session.output.result({ url: target, removed }, () => (removed ? `forgot the key for ${target}` : `no key was kept for ${target}; nothing to do`));
    });
}

function filedUrl(url: string): string {
  const filed = serverUrl(url);
  if ('problem' in filed) throw invalidInput(filed.problem);
  return filed.url;
}

/** Plain http is fine to this host's own daemon, where the key never crosses a network. */
function onThisHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

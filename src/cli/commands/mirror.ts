import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { parseNonNegativeInteger } from '../optionParsers.ts';
import { CliError } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';

export function registerMirrorCommand(program: Command, session: CliSession): void {
  program
    .command('mirror')
    .description('clone a catalogue and follow it (fast-forward only)')
    .argument('<url>', 'catalogue to mirror, e.g. http://127.0.0.1:4568/catalog.git')
    .argument('<dir>', 'folder of the mirror')
    .option('--interval <seconds>', 'seconds between fetches', parseNonNegativeInteger, 300)
    .option('--once', 'clone or update once and exit')
    .option('--head-key <line>', "the source instance's public key line (its GET /catalog/HEAD key, checked out of band): every update must then come with its signed, unexpired head statement")
    .option('--signed-commits', 'with --head-key: every commit an update brings on the branch must be SSH-signed by that key (or a --commit-key); git verify-commit then works in the mirror too')
    .option('--commit-key <line>', "a further key whose signed commits the source carries (its own upstreams'); repeatable", (line: string, keys: string[]) => [...keys, line], [] as string[])
    .action(async (url: string, dir: string, options: { interval: number; once?: boolean; headKey?: string; signedCommits?: boolean; commitKey: string[] }) => {
      const { mirrorOnce } = await import('../../sync/CatalogMirror.ts');
      if (options.signedCommits && options.headKey === undefined) throw new CliError('--signed-commits checks commits against the source key: give --head-key too', ExitCode.usage);
      for (;;) {
        const round = await mirrorOnce(url, dir, { ...(options.headKey === undefined ? {} : { headKey: options.headKey }), ...(options.signedCommits ? { signedCommits: true, commitKeys: options.commitKey } : {}) });
        session.output.result(round, () => (round.cloned ? `cloned ${url} into ${dir} at ${round.after ?? ''}` : round.before === round.after ? `${dir} is up to date` : `${dir}: ${round.before ?? ''} → ${round.after ?? ''}`));
        if (options.once) return;
        await new Promise((r) => setTimeout(r, options.interval * 1000));
      }
    });
}

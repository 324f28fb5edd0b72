import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CliSession } from '../CliSession.ts';
import { CliError, invalidInput } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';
import { assertImageId, recordPath } from '../../catalog/CatalogLayout.ts';
import type { ImageRecord } from '../../api/ImageRecord.ts';
import { endorsementsOf } from '../../trust/CatalogEndorsements.ts';
import { DEFAULT_POLICY, evaluatePolicy, parseTrustPolicy } from '../../trust/TrustPolicy.ts';
import { endorsementLines } from '../output/endorsementLines.ts';

/**
 * `visor verify`: whether an image's endorsements meet a policy. Offline against a catalogue clone
 * (`--catalog DIR`: signatures checked here, nobody else trusted), or as a daemon judges them.
 */
export function registerVerifyCommand(program: Command, session: CliSession): void {
  program
    .command('verify')
    .description("check an image's endorsements against a policy (default: one valid endorsement); exit 0 only when it is met, else name each rule that failed")
    .argument('<id>', 'image id')
    .option('--policy <file>', 'policy JSON: threshold, endorsers, required_endorsers, required_claims')
    .option('--catalog <dir>', 'judge offline from a catalogue clone instead of asking the daemon')
    .action(async (id: string, options: { policy?: string; catalog?: string }) => {
      assertImageId(id);
      const policy = options.policy === undefined ? DEFAULT_POLICY : parseTrustPolicy(await readFile(options.policy, 'utf8').catch(() => {
        throw invalidInput(`--policy ${options.policy}: cannot read it`);
      }), `--policy ${options.policy}`);
      let endorsements;
      if (options.catalog !== undefined) {
        const dir = resolve(options.catalog);
        const text = await readFile(join(dir, recordPath(id)), 'utf8').catch(() => undefined);
        if (text === undefined) throw new CliError(`image ${id} is not in the catalogue at ${dir}`, ExitCode.notFound);
        let record: ImageRecord | undefined;
        try {
          record = JSON.parse(text) as ImageRecord;
        } catch {
          record = undefined;
        }
        // An unreadable record has no facts: every endorsement of it shows as a facts mismatch.
        endorsements = await endorsementsOf(id, record, [dir], dir);
      } else endorsements = await (await session.visor()).endorsements(id);
      const verdict = evaluatePolicy(id, endorsements, policy);
      session.output.result({ id, ...verdict, endorsements }, () =>
        [...endorsementLines(endorsements), verdict.met ? `image ${id}: policy met (${verdict.counted.length > 0 ? verdict.counted.join(', ') : 'nothing required'})` : ''].filter((l) => l !== '').join('\n'),
      );
      if (!verdict.met) throw new CliError(verdict.failures.map((f) => f.message).join('\n'), ExitCode.failure);
    });
}

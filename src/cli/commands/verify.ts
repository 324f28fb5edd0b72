import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CliSession } from '../CliSession.ts';
import { CliError } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';
import { assertImageId, recordPath } from '../../catalog/CatalogLayout.ts';
import type { ImageRecord } from '../../api/ImageRecord.ts';
import { CatalogTrustSource } from '../../trust/CatalogEndorsements.ts';
import { expiryWarnings, trustOf, type ImageTrust } from '../../trust/ImageTrust.ts';
import { judgeTrust } from '../../trust/TrustPolicy.ts';
import { trustPolicyFile } from '../trustPolicyFile.ts';
import { endorsementLines, trustLines } from '../output/endorsementLines.ts';

/** A record of a catalogue clone, or undefined when absent or unreadable (it then has no facts: every endorsement of it mismatches). */
function recordIn(dir: string, id: string): ImageRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(join(dir, recordPath(id)), 'utf8')) as ImageRecord;
    return r?.id === id ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `visor verify`: whether an image meets a policy: its endorsements, revocations standing against it
 * or its bases, deprecations, deny and allow lists. Offline against a catalogue clone (`--catalog
 * DIR`: signatures checked here, nobody else trusted), or as a daemon judges them.
 */
export function registerVerifyCommand(program: Command, session: CliSession): void {
  program
    .command('verify')
    .description("check an image's endorsements, and its bases', against a policy (default: one valid endorsement, nothing revoked); exit 0 only when it is met, else name each rule that failed; warn of endorsements expiring soon and of deprecations")
    .argument('<id>', 'image id')
    .option('--policy <file>', 'policy JSON: threshold, endorsers, required_endorsers, required_claims, deny_endorsers, allow_/deny_images, allow_/deny_digests, treatment, expiry_warning_days')
    .option('--catalog <dir>', 'judge offline from a catalogue clone instead of asking the daemon')
    .action(async (id: string, options: { policy?: string; catalog?: string }) => {
      assertImageId(id);
      const policy = await trustPolicyFile(options.policy);
      let trust: ImageTrust;
      if (options.catalog !== undefined) {
        const dir = resolve(options.catalog);
        const record = recordIn(dir, id);
        if (record === undefined) {
          const exists = await readFile(join(dir, recordPath(id)), 'utf8').then(() => true, () => false);
          if (!exists) throw new CliError(`image ${id} is not in the catalogue at ${dir}`, ExitCode.notFound);
        }
        trust = trustOf(record ?? ({ id, status: 'error' } as ImageRecord), new CatalogTrustSource([dir], dir, (rid) => recordIn(dir, rid)), { warningDays: policy.expiry_warning_days });
      } else {
        const answer = await (await session.visor()).trust(id);
        // The warning window is this policy's, not the daemon's.
        trust = { ...answer, warnings: expiryWarnings(id, answer.endorsements, new Date(), policy.expiry_warning_days) };
      }
      const verdict = judgeTrust(trust, policy);
      const met = verdict.treatment === 'downloadable';
      for (const w of verdict.warnings) session.output.note(`warning: ${w}`);
      session.output.result({ met, ...verdict, endorsements: trust.endorsements, ancestry: trust.ancestry, flags: trust.flags, ...(trust.deprecation ? { deprecation: trust.deprecation } : {}) }, () =>
        [...endorsementLines(trust.endorsements), ...trustLines(trust), met ? `image ${id}: policy met (${verdict.counted.length > 0 ? verdict.counted.join(', ') : 'nothing required'})` : ''].filter((l) => l !== '').join('\n'),
      );
      if (!met) throw new CliError(verdict.failures.map((f) => f.message).join('\n'), ExitCode.failure);
    });
}

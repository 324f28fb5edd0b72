import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { VisorClient } from '../../client/VisorClient.ts';
import { CliError, invalidInput } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';
import { trustPolicyFile } from '../trustPolicyFile.ts';
import { expiryWarnings } from '../../trust/ImageTrust.ts';
import { judgeTrust, type TrustPolicy } from '../../trust/TrustPolicy.ts';
import type { CliSession } from '../CliSession.ts';
import { formatBytes } from '../output/formatBytes.ts';
import { TransferProgressBar } from '../output/TransferProgressBar.ts';

interface DownloadOptions {
  force?: boolean;
  verify: boolean;
  policy?: string;
}

export function registerDownloadCommand(program: Command, session: CliSession): void {
  program
    .command('download')
    .description("download an image's file, verifying its digest ('-' writes to stdout)")
    .argument('<id>', 'image id')
    .argument('[file]', 'destination (default: ./<image name>)')
    .option('--force', 'overwrite an existing file')
    .option('--no-verify', 'do not check the digest')
    .option('--policy <file>', 'first judge the image against this trust policy (as visor verify does), and accept only the bytes it was judged for')
    .action(async (id: string, file: string | undefined, options: DownloadOptions) => {
      const client = await session.visor();
      if (options.policy !== undefined && !options.verify) throw invalidInput('--policy needs the digest checked: leave out --no-verify');
      const judged = options.policy === undefined ? undefined : await judgeForDownload(client, id, await trustPolicyFile(options.policy), session);
      const toStdout = file === '-';
      const path = toStdout ? undefined : await destinationPath(client, id, file);
      if (path !== undefined && !options.force && (await exists(path))) {
        throw new CliError(`${path} exists; pass --force to overwrite it`);
      }
      const bar = new TransferProgressBar('download');
      let result;
      try {
        result = await client.download(id, path ?? process.stdout, { verify: options.verify, onProgress: bar.update, ...(judged ? { checksum: judged } : {}) });
      } finally {
        bar.stop();
      }
      const summary = { image: result.image, path: path ?? '-', bytes: result.bytes, checksum: result.checksum };
      const forPeople = (): string =>
        `${path ?? 'stdout'}: ${formatBytes(result.bytes)}, ${result.checksum}${options.verify ? ' (verified)' : ''}${judged ? ', trust policy met' : ''}`;
      // With the bytes on stdout, the summary must not be mixed into them.
      if (toStdout) session.output.resultBesideData(summary, forPeople);
      else session.output.result(summary, forPeople);
    });
}

/**
 * Judges the image against the policy before a byte is fetched: exits 1 naming each rule it fails.
 * Answers the digest it was judged for: the download must be those bytes (a record changed in
 * between would otherwise pass its own, unendorsed, digest).
 */
async function judgeForDownload(client: VisorClient, id: string, policy: TrustPolicy, session: CliSession): Promise<string> {
  const answer = await client.trust(id);
  const trust = { ...answer, warnings: expiryWarnings(id, answer.endorsements, new Date(), policy.expiry_warning_days) };
  const verdict = judgeTrust(trust, policy);
  for (const w of verdict.warnings) session.output.note(`warning: ${w}`);
  if (verdict.treatment !== 'downloadable') throw new CliError(`not downloaded: ${verdict.failures.map((f) => f.message).join('\n')}`, ExitCode.failure);
  if (trust.checksum === undefined) throw new CliError(`image ${id} has no checksum: its bytes cannot be checked against the policy`, ExitCode.failure);
  return trust.checksum;
}

/** FILE as given; inside FILE if it is a directory; ./<image name> without FILE. */
async function destinationPath(client: VisorClient, id: string, file: string | undefined): Promise<string> {
  if (file === undefined) return defaultFileName(client, id);
  const isDirectory = await stat(file).then((s) => s.isDirectory(), () => false);
  return isDirectory ? join(file, await defaultFileName(client, id)) : file;
}

/** <image name>, unless the name could not safely be a file name; then ./<id>. */
async function defaultFileName(client: VisorClient, id: string): Promise<string> {
  const { name } = await client.get(id);
  // eslint-disable-next-line no-control-regex
  const safe = name.replace(/[/\\\u0000-\u001f]/g, '_').trim();
  return safe === '' || safe === '.' || safe === '..' || safe.startsWith('-') ? id : safe;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

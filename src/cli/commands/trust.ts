import type { Command } from 'commander';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CliSession } from '../CliSession.ts';
import { CliError, invalidInput } from '../CliError.ts';
import { ExitCode } from '../ExitCode.ts';
import { TRUST_SIGNATURES_FILE } from '../../catalog/CatalogLayout.ts';
import { GitRunner } from '../../git/GitRunner.ts';
import { parsePrivateKeyFile } from '../../trust/SshKeys.ts';
import { signTrustFile, trustStatus, type TrustFileVersions } from '../../trust/TrustSigning.ts';
import { SIGNED_TRUST_FILES, signedText, thresholdText, type SignedTrustFile } from '../../trust/TrustSignatures.ts';

/** The trust files of a catalogue clone: as in its working tree, and as committed at HEAD (none before the first commit). */
function versionsIn(dir: string): TrustFileVersions {
  const git = new GitRunner(dir);
  return {
    working: (path) => readFile(join(dir, path), 'utf8').catch(() => undefined),
    committed: async (path) => {
      try {
        return (await git.run(['show', `HEAD:${path}`])).stdout;
      } catch {
        return undefined;
      }
    },
  };
}

/**
 * `visor trust`: the roots' side of a catalogue's trust (trust/root.json, TUF's root role). `sign`
 * adds a root's signature over root.json or the endorser list to trust/signatures.json, for review
 * and merge like any change; `status` says who signed what and whether the hooks would take it.
 */
export function registerTrustCommand(program: Command, session: CliSession): void {
  const trust = program.command('trust').description("sign and check a catalogue's trust roots (trust/root.json) and their signatures over the endorser list");
  trust
    .command('sign')
    .description('add your signature over root.json or endorsers.json, as they are in the clone now, to trust/signatures.json')
    .argument('<file>', `the file to sign: ${SIGNED_TRUST_FILES.join(' or ')}`)
    .requiredOption('--key <file>', 'OpenSSH Ed25519 private key file (unencrypted) of a root')
    .option('--catalog <dir>', 'the catalogue clone', '.')
    .action(async (file: string, options: { key: string; catalog: string }) => {
      const name = file.replace(/^trust\//, '');
      if (!(SIGNED_TRUST_FILES as readonly string[]).includes(name)) throw invalidInput(`${file}: the roots sign ${SIGNED_TRUST_FILES.join(' or ')}`);
      const dir = resolve(options.catalog);
      const keyText = await readFile(options.key, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw invalidInput(`--key ${options.key}: cannot read it (${error.code ?? error.message})`);
      });
      const key = parsePrivateKeyFile(keyText, '--key');
      const signed = await signTrustFile(name as SignedTrustFile, key, versionsIn(dir));
      await writeFile(join(dir, TRUST_SIGNATURES_FILE), signed.text);
      session.output.result({ file: signed.file, version: signed.version, key: key.publicKey.fingerprint, root: signed.isRoot, dropped: signed.dropped }, () => `${TRUST_SIGNATURES_FILE}: ${signed.file} version ${signed.version} signed by ${key.publicKey.fingerprint}`);
      if (!signed.isRoot) session.output.note(`warning: key ${key.publicKey.fingerprint} is not a root in trust/root.json: its signature counts for nothing`);
      if (signed.dropped.length > 0) session.output.note(`dropped signatures that no longer match ${signed.file} as it is now: ${signed.dropped.join(', ')}`);
      session.output.note(`commit it and send it for review (visor trust status --catalog ${options.catalog} says whether the thresholds are met)`);
    });
  trust
    .command('status')
    .description('who signed root.json and endorsers.json, whether the thresholds are met, and what the hooks would refuse in a commit of the working tree')
    .option('--catalog <dir>', 'the catalogue clone', '.')
    .action(async (options: { catalog: string }) => {
      const status = await trustStatus(versionsIn(resolve(options.catalog)));
      const lines = status.roots
        ? status.files.map((f) => `${f.file} version ${f.version}: ${f.met ? 'met' : 'NOT met'}: ${thresholdText(f.count)} (${f.against}); ${signedText(f.count)}`)
        : ['no trust roots (trust/root.json): the endorser list changes by review alone'];
      for (const p of status.problems) lines.push(`${p.file}: ${p.field}: ${p.message} [${p.rule}]`);
      const view = { roots: status.roots, files: status.files.map((f) => ({ file: f.file, version: f.version, against: f.against, met: f.met, threshold: f.count.threshold, roots: f.count.roots.map((r) => r.identity), signed: f.count.signers.map((r) => r.identity), not_counted: f.count.rejected })), problems: status.problems };
      session.output.result(view, () => lines.join('\n'));
      if (status.problems.length > 0) throw new CliError(`${status.problems.length} problem(s) in the trust files of ${options.catalog}`, ExitCode.failure);
    });
}

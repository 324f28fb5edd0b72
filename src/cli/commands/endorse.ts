import type { Command } from 'commander';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { CliSession } from '../CliSession.ts';
import { invalidInput } from '../CliError.ts';
import { assertImageId, recordPath, ENDORSERS_FILE } from '../../catalog/CatalogLayout.ts';
import type { ImageRecord } from '../../api/ImageRecord.ts';
import { parsePrivateKeyFile } from '../../trust/SshKeys.ts';
import { endorsersIn } from '../../trust/CatalogEndorsements.ts';
import { endorse, revoke, serializeStatementFile } from '../../trust/Endorsing.ts';
import { statementPath } from '../../trust/StatementFile.ts';
import { parseExpiry } from '../../trust/ExpiryOption.ts';

interface EndorseOptions {
  key: string;
  to: string;
  expires?: string;
  claim: string[];
  as?: string;
  revoke?: boolean;
  reason?: string;
}

/**
 * `visor endorse`: signs a statement about an image of a catalogue clone and writes it there, for
 * review and merge like any change (the hooks and CI check its signature, key and facts).
 */
export function registerEndorseCommand(program: Command, session: CliSession): void {
  program
    .command('endorse')
    .description("sign an endorsement of an image's facts (checksum, size, virtual size, format) with an OpenSSH Ed25519 key, into a catalogue clone; --revoke withdraws yours")
    .argument('<id>', 'image id')
    .requiredOption('--key <file>', 'OpenSSH Ed25519 private key file (unencrypted), e.g. ~/.ssh/id_ed25519')
    .option('--to <dir>', 'the catalogue clone to write into', '.')
    .option('--expires <date>', 'when the endorsement lapses: 2027-06-01, an RFC 3339 time, or 90d (default 365d)')
    .option('--claim <claim>', 'what you vouch for: tested, approved or free text (repeatable)', (value: string, all: string[]) => [...all, value], [] as string[])
    .option('--as <identity>', `your identity, name@instance (default: the one ${ENDORSERS_FILE} lists for the key)`)
    .option('--revoke', 'withdraw your endorsements of the image instead (needs --reason)')
    .option('--reason <text>', 'why you revoke')
    .action(async (id: string, options: EndorseOptions) => {
      assertImageId(id);
      const dir = resolve(options.to);
      const keyText = await readFile(options.key, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw invalidInput(`--key ${options.key}: cannot read it (${error.code ?? error.message})`);
      });
      const key = parsePrivateKeyFile(keyText, '--key');
      const listed = (await endorsersIn(dir)).key(key.publicKey.fingerprint);
      if (options.as !== undefined && listed && listed.identity !== options.as) throw invalidInput(`--as ${options.as}: ${ENDORSERS_FILE} lists key ${key.publicKey.fingerprint} for ${listed.identity}`);
      const identity = options.as ?? listed?.identity;
      if (identity === undefined) throw invalidInput(`key ${key.publicKey.fingerprint} is not in ${join(dir, ENDORSERS_FILE)}: add it there (a reviewed change), or name yourself with --as name@instance`);

      let file;
      if (options.revoke) {
        if (options.reason === undefined || options.reason.trim() === '') throw invalidInput('--revoke needs --reason <text>');
        if (options.claim.length > 0 || options.expires !== undefined) throw invalidInput('--revoke takes no --claim or --expires');
        file = revoke(id, key, identity, options.reason.trim());
      } else {
        const text = await readFile(join(dir, recordPath(id)), 'utf8').catch(() => undefined);
        if (text === undefined) throw invalidInput(`image ${id} is not in the catalogue at ${dir} (${recordPath(id)}): endorse in a clone of the catalogue that holds it`);
        let record: ImageRecord;
        try {
          record = JSON.parse(text) as ImageRecord;
        } catch {
          throw invalidInput(`${recordPath(id)} in ${dir} is not JSON`);
        }
        if (record.id !== id) throw invalidInput(`${recordPath(id)} holds the record of ${JSON.stringify(String(record.id).slice(0, 60))}, not ${id}`);
        file = endorse(record, key, identity, { claims: options.claim, ...(options.expires === undefined ? {} : { expiresAt: parseExpiry(options.expires) }) });
      }
      const path = statementPath(file);
      await mkdir(dirname(join(dir, path)), { recursive: true });
      // Never over an existing statement: one per key and second, and signed statements never change.
      await writeFile(join(dir, path), serializeStatementFile(file), { flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
        throw invalidInput(`${path}: ${error.code === 'EEXIST' ? 'a statement of this key and second exists already; try again' : error.message}`);
      });
      session.output.result({ file: path, statement: file.statement }, () => `${path}`);
      session.output.note(`${file.statement.kind === 'revocation' ? 'revocation' : 'endorsement'} of image ${id} by ${identity} (key ${key.publicKey.fingerprint}) written; commit it and send it for review: git -C ${options.to} add ${path}`);
    });
}

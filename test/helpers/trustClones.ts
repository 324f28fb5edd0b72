import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../../src/api/ImageRecord.ts';
import { recordPath } from '../../src/catalog/CatalogLayout.ts';
import { serializeStatementFile } from '../../src/trust/Endorsing.ts';
import type { SignedStatementFile } from '../../src/trust/EndorsementStatement.ts';
import { HEAD_STATEMENT_REF, serializeHeadStatement, signHeadStatement } from '../../src/trust/HeadStatement.ts';
import type { SshPrivateKey } from '../../src/trust/SshKeys.ts';
import { statementPath } from '../../src/trust/StatementFile.ts';
import { signTrustFile } from '../../src/trust/TrustSigning.ts';
import { git, imageRecord, tempDir } from './gitRepos.ts';
import { makeSigningKey } from './sshKeys.ts';

/**
 * Publishes a head statement for the repository's current branch head, signed by `key`, as an
 * instance's HeadPublisher does (refs/visor/head).
 */
export function publishHeadStatement(dir: string, key: SshPrivateKey, options: { instance?: string; head?: string; now?: Date; validitySeconds?: number } = {}): void {
  const head = options.head ?? git(dir, 'rev-parse', 'HEAD').trim();
  const file = signHeadStatement(key, { instance: options.instance ?? 'public.example', branch: 'main', head, now: options.now ?? new Date(), validitySeconds: options.validitySeconds ?? 3600 });
  git(dir, 'update-ref', HEAD_STATEMENT_REF, execFileSync('git', ['-C', dir, 'hash-object', '-w', '--stdin'], { input: serializeHeadStatement(file), encoding: 'utf8' }).trim());
}

export const rootFileText = (roots: Array<[identity: string, keyLine: string]>, threshold = 1) => `${JSON.stringify({ version: 1, threshold, roots: roots.map(([identity, key]) => ({ identity, key })) }, null, 2)}\n`;
export const endorsersFileText = (people: Array<[identity: string, keyLine: string]>) => `${JSON.stringify({ endorsers: people.map(([identity, line]) => ({ identity, keys: [line] })) }, null, 2)}\n`;

/**
 * A catalogue clone built file by file in a working tree (`dir`, not yet a git repository): records,
 * trust files signed by a root, statements; `commit` makes it a repository with one commit.
 */
export async function cloneBuilder(prefix: string) {
  const scratch = await tempDir(prefix);
  const dir = join(scratch, 'c');
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  };
  const read = (path: string) => readFile(join(dir, path), 'utf8').catch(() => undefined);
  await write('visor-catalog.json', '{"schema_version": 1}\n');
  return {
    scratch,
    dir,
    key: (name: string) => makeSigningKey(scratch, name),
    write,
    addRecord: async (extra: Record<string, unknown> = {}) => {
      const r = imageRecord({ origin: 'site-a', ...extra }) as unknown as ImageRecord;
      await write(recordPath(r.id), `${JSON.stringify(r, null, 2)}\n`);
      return r;
    },
    addStatement: (file: SignedStatementFile) => write(statementPath(file), serializeStatementFile(file)),
    /** trust/root.json and trust/endorsers.json as given, both signed by `signer` (signatures.json written afresh). */
    trust: async (root: string, endorsers: string, signer: SshPrivateKey) => {
      await write('trust/root.json', root);
      await write('trust/endorsers.json', endorsers);
      await rm(join(dir, 'trust/signatures.json'), { force: true });
      for (const file of ['root.json', 'endorsers.json'] as const) await write('trust/signatures.json', (await signTrustFile(file, signer, { working: read, committed: async () => undefined })).text);
    },
    commit: (message = 'signed state') => {
      git(scratch, 'init', '-q', '-b', 'main', dir);
      git(dir, 'add', '-A');
      git(dir, '-c', 'user.name=a', '-c', 'user.email=a@x', 'commit', '-qm', message);
    },
  };
}

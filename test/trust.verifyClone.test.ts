/**
 * `visor verify --catalog` judges a clone offline, so it trusts nothing the clone's owner could
 * have edited: an endorser list counts only when its trust roots signed it, and with the instance's
 * key pinned, only what that key vouches for (the signed head, commits after it signed by the same
 * key, nothing uncommitted) is judged.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { recordPath } from '../src/catalog/CatalogLayout.ts';
import { endorse, serializeStatementFile } from '../src/trust/Endorsing.ts';
import { HEAD_STATEMENT_REF, serializeHeadStatement, signHeadStatement } from '../src/trust/HeadStatement.ts';
import { parsePrivateKeyFile } from '../src/trust/SshKeys.ts';
import { statementPath } from '../src/trust/StatementFile.ts';
import { signTrustFile } from '../src/trust/TrustSigning.ts';
import { runVisor } from './helpers/cli.ts';
import { git, imageRecord, tempDir } from './helpers/gitRepos.ts';
import { makeKey } from './helpers/sshKeys.ts';

test('an endorser list the roots did not sign, an uncommitted edit, or an unsigned commit after the signed head: verify --catalog refuses, naming the rule', async (t) => {
  const scratch = await tempDir('visor-verify-clone-');
  const dir = join(scratch, 'c');
  const key = async (name: string) => {
    const made = makeKey(scratch, name);
    return { made, key: parsePrivateKeyFile(await readFile(made.file, 'utf8')) };
  };
  const [root, alice, mallory, instance] = await Promise.all([key('root'), key('alice'), key('mallory'), key('instance')]);
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  };
  const read = (path: string) => readFile(join(dir, path), 'utf8').catch(() => undefined);
  const record = imageRecord({ origin: 'site-a' }) as unknown as ImageRecord;
  await write(recordPath(record.id), `${JSON.stringify(record, null, 2)}\n`);
  await write('visor-catalog.json', '{"schema_version": 1}\n');
  await write('trust/root.json', `${JSON.stringify({ version: 1, threshold: 1, roots: [{ identity: 'root@site-a', key: root.made.publicLine }] }, null, 2)}\n`);
  const endorsers = (people: Array<[string, string]>) => `${JSON.stringify({ endorsers: people.map(([identity, line]) => ({ identity, keys: [line] })) }, null, 2)}\n`;
  await write('trust/endorsers.json', endorsers([['alice@site-a', alice.made.publicLine]]));
  for (const file of ['root.json', 'endorsers.json'] as const) await write('trust/signatures.json', (await signTrustFile(file, root.key, { working: read, committed: async () => undefined })).text);
  const byAlice = endorse(record, alice.key, 'alice@site-a');
  await write(statementPath(byAlice), serializeStatementFile(byAlice));
  git(scratch, 'init', '-q', '-b', 'main', dir);
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=a', '-c', 'user.email=a@x', 'commit', '-qm', 'signed state');
  const statement = signHeadStatement(instance.key, { instance: 'site-a', branch: 'main', head: git(dir, 'rev-parse', 'HEAD').trim(), now: new Date(), validitySeconds: 3600 });
  git(dir, 'update-ref', HEAD_STATEMENT_REF, execFileSync('git', ['-C', dir, 'hash-object', '-w', '--stdin'], { input: serializeHeadStatement(statement), encoding: 'utf8' }).trim());
  const verify = (...extra: string[]) => runVisor(['verify', record.id, '--catalog', dir, ...extra]);
  const pinned = ['--head-key', instance.made.publicLine];

  const good = await verify(...pinned);
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /policy met \(alice@site-a\)/);

  // Mallory lists herself (no root signs the list) and endorses the image, in the working tree.
  await write('trust/endorsers.json', endorsers([['alice@site-a', alice.made.publicLine], ['mallory@site-a', mallory.made.publicLine]]));
  const byMallory = endorse(record, mallory.key, 'mallory@site-a');
  await write(statementPath(byMallory), serializeStatementFile(byMallory));
  const unsignedList = await verify('--policy', await policy(scratch, { required_endorsers: ['mallory@site-a'] }));
  t.not(unsignedList.code, 0);
  t.regex(unsignedList.stderr, /endorsers\.json .*needs the signatures of 1 of root@site-a.*rule endorsers-threshold/);
  const uncommitted = await verify(...pinned);
  t.not(uncommitted.code, 0);
  t.regex(uncommitted.stderr, /uncommitted changes to what is judged \(rule uncommitted\): M trust\/endorsers\.json/);

  // Committed on top of the signed head, by someone without the instance key.
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=m', '-c', 'user.email=m@x', 'commit', '-qm', 'mallory');
  const unsignedCommit = await verify(...pinned);
  t.not(unsignedCommit.code, 0);
  t.regex(unsignedCommit.stderr, new RegExp(`commit ${git(dir, 'rev-parse', '--short=12', 'HEAD').trim()} is not signed \\(rule commit-unsigned\\)`));
});

async function policy(dir: string, content: object): Promise<string> {
  const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(content));
  return file;
}

test("with --trust-root, a clone whose roots were replaced (an attacker's own, signing their own endorser list) is refused; the pinned roots pass, and a FIFO in their place does not hang", async (t) => {
  const scratch = await tempDir('visor-verify-pin-');
  const dir = join(scratch, 'c');
  const key = async (name: string) => {
    const made = makeKey(scratch, name);
    return { made, key: parsePrivateKeyFile(await readFile(made.file, 'utf8')) };
  };
  const [root, alice, mallory] = await Promise.all([key('root'), key('alice'), key('mallory')]);
  const write = async (path: string, text: string) => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  };
  const read = (path: string) => readFile(join(dir, path), 'utf8').catch(() => undefined);
  const record = imageRecord({ origin: 'site-a' }) as unknown as ImageRecord;
  await write(recordPath(record.id), `${JSON.stringify(record, null, 2)}\n`);
  await write('visor-catalog.json', '{"schema_version": 1}\n');
  const rootFile = (line: string, identity: string) => `${JSON.stringify({ version: 1, threshold: 1, roots: [{ identity, key: line }] }, null, 2)}\n`;
  const endorsers = (identity: string, line: string) => `${JSON.stringify({ endorsers: [{ identity, keys: [line] }] }, null, 2)}\n`;
  const signAll = async (signer: typeof root) => {
    await rm(join(dir, 'trust/signatures.json'), { force: true });
    for (const file of ['root.json', 'endorsers.json'] as const) await write('trust/signatures.json', (await signTrustFile(file, signer.key, { working: read, committed: async () => undefined })).text);
  };
  await write('trust/root.json', rootFile(root.made.publicLine, 'root@site-a'));
  await write('trust/endorsers.json', endorsers('alice@site-a', alice.made.publicLine));
  await signAll(root);
  const byAlice = endorse(record, alice.key, 'alice@site-a');
  await write(statementPath(byAlice), serializeStatementFile(byAlice));
  git(scratch, 'init', '-q', '-b', 'main', dir);
  git(dir, 'add', '-A');
  git(dir, '-c', 'user.name=a', '-c', 'user.email=a@x', 'commit', '-qm', 'signed state');
  const pin = join(scratch, 'pinned-root.json');
  await writeFile(pin, await readFile(join(dir, 'trust/root.json'), 'utf8'));
  const verify = (...extra: string[]) => runVisor(['verify', record.id, '--catalog', dir, ...extra]);

  t.is((await verify('--trust-root', pin)).code, 0, 'the pinned roots');
  // Mallory replaces the roots with her own and signs her own endorser list: consistent on its own.
  await write('trust/root.json', rootFile(mallory.made.publicLine, 'mallory@site-a'));
  await write('trust/endorsers.json', endorsers('mallory@site-a', mallory.made.publicLine));
  await signAll(mallory);
  const byMallory = endorse(record, mallory.key, 'mallory@site-a');
  await write(statementPath(byMallory), serializeStatementFile(byMallory));
  const policy = join(scratch, 'mallory-policy.json');
  await writeFile(policy, JSON.stringify({ required_endorsers: ['mallory@site-a'] }));
  t.is((await verify('--policy', policy)).code, 0, 'without a pin, the clone is its own authority');
  const pinned = await verify('--policy', policy, '--trust-root', pin);
  t.not(pinned.code, 0);
  t.regex(pinned.stderr, /do not descend from the pinned root version 1, threshold 1 of SHA256:\S+ \(root@site-a\) \(rule trust-root-pin\)/);
  // A FIFO where the roots belong is no root, and is not read.
  await rm(join(dir, 'trust/root.json'));
  execFileSync('mkfifo', [join(dir, 'trust/root.json')]);
  const fifo = await verify('--trust-root', pin);
  t.not(fifo.code, 0);
  t.regex(fifo.stderr, /no valid trust\/root\.json.*rule trust-root-pin/);
});

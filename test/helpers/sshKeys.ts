import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePrivateKeyFile, type SshPrivateKey } from '../../src/trust/SshKeys.ts';

/** A real key made by the real ssh-keygen: its files, public line and fingerprint as ssh-keygen prints it. */
export interface TestKey {
  file: string;
  publicLine: string;
  fingerprint: string;
}

export function makeKey(dir: string, name: string): TestKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  const publicLine = readFileSync(`${file}.pub`, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1]!;
  return { file, publicLine, fingerprint };
}

/** `ssh-keygen -Y sign -n NAMESPACE -f KEY FILE`: answers the armored signature it wrote. */
export function sshKeygenSign(key: TestKey, message: Buffer, dir: string, namespace = 'visor-endorsement'): string {
  const file = join(dir, `msg-${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, message);
  execFileSync('ssh-keygen', ['-q', '-Y', 'sign', '-n', namespace, '-f', key.file, file], { stdio: 'pipe' });
  return readFileSync(`${file}.sig`, 'utf8');
}

/** `ssh-keygen -Y verify` against an allowed_signers file naming `identity` with `key`: its exit status and output. */
export function sshKeygenVerify(key: TestKey, identity: string, message: Buffer, signature: string, dir: string, namespace = 'visor-endorsement'): { status: number; output: string } {
  const allowed = join(dir, `allowed-${Math.random().toString(36).slice(2)}`);
  writeFileSync(allowed, `${identity} namespaces="${namespace}" ${key.publicLine}\n`);
  const sig = `${allowed}.sig`;
  writeFileSync(sig, signature);
  const r = spawnSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', identity, '-n', namespace, '-s', sig], { input: message, encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** A key made by ssh-keygen (makeKey) and the same key parsed for signing here. */
export function makeSigningKey(dir: string, name: string): { made: TestKey; key: SshPrivateKey } {
  const made = makeKey(dir, name);
  return { made, key: parsePrivateKeyFile(readFileSync(made.file, 'utf8')) };
}

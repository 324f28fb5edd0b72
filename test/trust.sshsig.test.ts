/**
 * Endorsers sign with keys they already have: the `sshsig` format of `ssh-keygen -Y sign`, which git
 * uses for commit signing. Checked both ways against the real ssh-keygen.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parsePrivateKeyFile, parsePublicKeyLine } from '../src/trust/SshKeys.ts';
import { signSsh, verifySsh } from '../src/trust/SshSignature.ts';
import { tempDir } from './helpers/gitRepos.ts';
import { makeKey, sshKeygenSign, sshKeygenVerify, type TestKey } from './helpers/sshKeys.ts';

let dir: string;
let alice: TestKey;
let mallory: TestKey;
const message = Buffer.from('{"image":{"id":"x"},"kind":"endorsement"}');

test.before(async () => {
  dir = await tempDir('visor-sshsig-');
  alice = makeKey(dir, 'alice');
  mallory = makeKey(dir, 'mallory');
});

test('a signature made by ssh-keygen -Y sign verifies here, naming the key ssh-keygen fingerprints', (t) => {
  const signature = sshKeygenSign(alice, message, dir);
  const info = verifySsh(signature, message);
  t.is(info.publicKey.fingerprint, alice.fingerprint);
  t.is(info.namespace, 'visor-endorsement');
  t.is(parsePublicKeyLine(alice.publicLine).fingerprint, alice.fingerprint);
});

test('a signature made here with an OpenSSH private key file verifies with ssh-keygen -Y verify, and is what ssh-keygen writes', (t) => {
  const key = parsePrivateKeyFile(readFileSync(alice.file, 'utf8'));
  t.is(key.publicKey.fingerprint, alice.fingerprint);
  const ours = signSsh(key, message);
  const verified = sshKeygenVerify(alice, 'alice@site-a', message, ours, dir);
  t.is(verified.status, 0, verified.output);
  t.regex(verified.output, /Good "visor-endorsement" signature for alice@site-a/);
  // Ed25519 is deterministic: the armored bytes are exactly ssh-keygen's.
  t.is(ours, sshKeygenSign(alice, message, dir));
  // And ssh-keygen refuses ours over other bytes, as we refuse its.
  t.not(sshKeygenVerify(alice, 'alice@site-a', Buffer.from('other'), ours, dir).status, 0);
});

test('a changed message, a changed signature, another namespace or a malformed armour are refused', (t) => {
  const signature = sshKeygenSign(alice, message, dir);
  t.throws(() => verifySsh(signature, Buffer.from(`${message.toString()} `)), { message: /does not match/ });
  const body = signature.split('\n');
  // Flip one character of the signature bytes themselves (the last base64 line, before the padding).
  const last = body.length - 3;
  const line = body[last]!;
  body[last] = `${line.slice(0, 2)}${line[2] === 'A' ? 'B' : 'A'}${line.slice(3)}`;
  t.throws(() => verifySsh(body.join('\n'), message));
  t.throws(() => verifySsh(sshKeygenSign(alice, message, dir, 'git'), message), { message: /namespace "git", not visor-endorsement/ });
  t.throws(() => verifySsh('-----BEGIN SSH SIGNATURE-----\n!!\n-----END SSH SIGNATURE-----', message), { message: /base64/ });
  t.throws(() => verifySsh('hello', message), { message: /not an armored SSH signature/ });
});

test('a signature proves which key made it: mallory signing is mallory, whatever the message claims', (t) => {
  const info = verifySsh(sshKeygenSign(mallory, message, dir), message);
  t.is(info.publicKey.fingerprint, mallory.fingerprint);
  t.not(info.publicKey.fingerprint, alice.fingerprint);
});

test('private key files: encrypted, non-Ed25519 and non-OpenSSH files are refused with the reason', (t) => {
  const enc = makeKey(dir, 'encrypted');
  // Re-encrypt a copy with a passphrase.
  execFileSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'secret-pass', '-f', enc.file]);
  t.throws(() => parsePrivateKeyFile(readFileSync(enc.file, 'utf8')), { message: /encrypted/ });
  t.throws(() => parsePrivateKeyFile(alice.publicLine), { message: /not an OpenSSH private key file/ });
  t.throws(() => parsePublicKeyLine('ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x'), { message: /not an ssh-ed25519 public key line/ });
});

import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { invalidField, VisorError } from '../errors/VisorError.ts';
import { SshReader, sshString } from './SshWire.ts';

/** The one key type endorsements accept: small, fast, deterministic, and what `ssh-keygen -t ed25519` makes. */
export const ED25519 = 'ssh-ed25519';

/** An Ed25519 public key as SSH names it: the wire blob, its fingerprint, and node:crypto's key. */
export interface SshPublicKey {
  /** `string "ssh-ed25519", string key(32)`: what signatures embed and fingerprints hash. */
  blob: Buffer;
  /** `SHA256:<base64 without padding>`, exactly what `ssh-keygen -l` prints. */
  fingerprint: string;
  key: KeyObject;
}

export interface SshPrivateKey {
  publicKey: SshPublicKey;
  key: KeyObject;
}

function base64url(b: Buffer): string {
  return b.toString('base64url');
}

/** Keys met lately, by blob: a catalogue's statements are signed by few keys, and importing one into node:crypto costs a quarter of a verification (~20 against ~80 µs here). */
const recentKeys = new Map<string, SshPublicKey>();
const RECENT_KEYS = 256;

/** The public key a blob encodes; throws when it is anything but a well-formed Ed25519 key. */
export function publicKeyFromBlob(blob: Buffer): SshPublicKey {
  const known = recentKeys.get(blob.toString('base64'));
  if (known) return known;
  const key = importPublicKey(blob);
  if (recentKeys.size >= RECENT_KEYS) recentKeys.delete(recentKeys.keys().next().value!);
  recentKeys.set(blob.toString('base64'), key);
  return key;
}

function importPublicKey(blob: Buffer): SshPublicKey {
  const r = new SshReader(blob);
  const type = r.text();
  if (type !== ED25519) throw new Error(`key type ${type.slice(0, 40)} is not ${ED25519}`);
  const raw = r.string();
  if (raw.length !== 32 || !r.done) throw new Error('malformed ssh-ed25519 key');
  return { blob: Buffer.from(blob), fingerprint: fingerprintOf(blob), key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: base64url(raw) }, format: 'jwk' }) };
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A fingerprint as a file name can carry it on any file system: lowercase hex of the same SHA-256. */
export function fingerprintHex(fingerprint: string): string {
  const m = /^SHA256:([A-Za-z0-9+/]{43})$/.exec(fingerprint);
  if (!m) throw new Error(`${fingerprint.slice(0, 80)} is not a SHA256 key fingerprint`);
  return Buffer.from(m[1]!, 'base64').toString('hex');
}

/** One OpenSSH public key line (`ssh-ed25519 AAAA… comment`, as in id_ed25519.pub or authorized_keys). */
export function parsePublicKeyLine(line: string, field = 'key'): SshPublicKey {
  const m = /^(\S+) ([A-Za-z0-9+/]+={0,2})(?: .*)?$/.exec(line.trim());
  if (!m || m[1] !== ED25519) throw invalidField(field, 'ssh-ed25519', 'an OpenSSH public key line "ssh-ed25519 AAAA… [comment]"', `${field}: ${JSON.stringify(line.slice(0, 60))} is not an ssh-ed25519 public key line`);
  const blob = Buffer.from(m[2]!, 'base64');
  try {
    return publicKeyFromBlob(blob);
  } catch (error) {
    throw invalidField(field, 'ssh-ed25519', 'an OpenSSH public key line "ssh-ed25519 AAAA… [comment]"', `${field}: ${(error as Error).message}`);
  }
}

export function publicKeyLine(key: SshPublicKey, comment?: string): string {
  return `${ED25519} ${key.blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

const PRIVATE_BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const PRIVATE_END = '-----END OPENSSH PRIVATE KEY-----';
const AUTH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/**
 * An OpenSSH private key file (PROTOCOL.key: `openssh-key-v1`), unencrypted and Ed25519: what
 * `ssh-keygen -t ed25519 -N ''` writes. An encrypted key is refused with a hint rather than asked
 * for a passphrase: endorsing runs unattended in CI as often as by hand.
 */
export function parsePrivateKeyFile(text: string, field = 'key'): SshPrivateKey {
  const fail = (message: string) => invalidField(field, 'openssh-ed25519-private-key', 'an unencrypted OpenSSH Ed25519 private key file (ssh-keygen -t ed25519)', `${field}: ${message}`);
  const begin = text.indexOf(PRIVATE_BEGIN);
  const end = text.indexOf(PRIVATE_END);
  if (begin < 0 || end < begin) throw fail('not an OpenSSH private key file (no "BEGIN OPENSSH PRIVATE KEY")');
  const body = Buffer.from(text.slice(begin + PRIVATE_BEGIN.length, end).replace(/\s+/g, ''), 'base64');
  try {
    if (!body.subarray(0, AUTH_MAGIC.length).equals(AUTH_MAGIC)) throw new Error('not an openssh-key-v1 key');
    const r = new SshReader(body.subarray(AUTH_MAGIC.length));
    const cipher = r.text();
    const kdf = r.text();
    r.string();
    if (cipher !== 'none' || kdf !== 'none') throw new Error(`the key is encrypted (${cipher}); endorse with an unencrypted copy, e.g. made by ssh-keygen -p -N '' on a copy`);
    if (r.uint32() !== 1) throw new Error('the file holds more than one key');
    const publicKey = publicKeyFromBlob(r.string());
    const secret = new SshReader(r.string());
    if (secret.uint32() !== secret.uint32()) throw new Error('corrupt private key (check bytes differ)');
    if (secret.text() !== ED25519) throw new Error(`not an ${ED25519} key`);
    const pub = secret.string();
    const priv = secret.string();
    if (priv.length !== 64 || !pub.equals(priv.subarray(32)) || !publicKeyFromBlob(Buffer.concat([sshString(ED25519), sshString(pub)])).blob.equals(publicKey.blob)) throw new Error('corrupt private key');
    const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: base64url(priv.subarray(0, 32)), x: base64url(pub) }, format: 'jwk' });
    return { publicKey, key };
  } catch (error) {
    if (error instanceof VisorError) throw error;
    throw fail((error as Error).message);
  }
}

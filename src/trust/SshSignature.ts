import { createHash, sign, verify } from 'node:crypto';
import { SshReader, sshString, sshUint32 } from './SshWire.ts';
import { ED25519, publicKeyFromBlob, type SshPrivateKey, type SshPublicKey } from './SshKeys.ts';

/**
 * The `sshsig` format (OpenSSH's PROTOCOL.sshsig): what `ssh-keygen -Y sign` writes, `ssh-keygen -Y
 * verify` checks, and git uses for commit signing with `gpg.format=ssh`. A signature covers the
 * message's hash together with a namespace, so a signature made for one purpose (a git commit, say)
 * is never valid for another. Ed25519 and SHA-512 only: the one combination endorsements need.
 */
export const SSHSIG_NAMESPACE = 'visor-endorsement';
const MAGIC = Buffer.from('SSHSIG', 'latin1');
const VERSION = 1;
const HASH = 'sha512';
const BEGIN = '-----BEGIN SSH SIGNATURE-----';
const END = '-----END SSH SIGNATURE-----';

/** What a signature says about itself, once its own signature checks out against its embedded key. */
export interface SshSignatureInfo {
  publicKey: SshPublicKey;
  namespace: string;
}

/** The bytes the key actually signs: the magic, namespace, reserved, hash algorithm and H(message). */
function signedData(namespace: string, message: Buffer): Buffer {
  return Buffer.concat([MAGIC, sshString(namespace), sshString(''), sshString(HASH), sshString(createHash(HASH).update(message).digest())]);
}

/** Signs `message` and answers the armored signature, byte for byte what `ssh-keygen -Y sign` writes. */
export function signSsh(key: SshPrivateKey, message: Buffer, namespace = SSHSIG_NAMESPACE): string {
  const signature = sign(null, signedData(namespace, message), key.key);
  const blob = Buffer.concat([MAGIC, sshUint32(VERSION), sshString(key.publicKey.blob), sshString(namespace), sshString(''), sshString(HASH), sshString(Buffer.concat([sshString(ED25519), sshString(signature)]))]);
  const lines = blob.toString('base64').match(/.{1,70}/g) ?? [];
  return `${BEGIN}\n${lines.join('\n')}\n${END}\n`;
}

/**
 * Checks an armored signature over `message` in `namespace` against the key it embeds, and answers
 * that key; throws with the reason otherwise. Whether that key is one to trust is the caller's
 * question (an endorser list, an allowed_signers file): a signature proves only which key made it.
 */
export function verifySsh(armored: string, message: Buffer, namespace = SSHSIG_NAMESPACE): SshSignatureInfo {
  const text = armored.trim();
  if (!text.startsWith(BEGIN) || !text.endsWith(END)) throw new Error('not an armored SSH signature (-----BEGIN SSH SIGNATURE-----)');
  const body = text.slice(BEGIN.length, text.length - END.length).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body)) throw new Error('the signature is not base64');
  const r = new SshReader(Buffer.from(body, 'base64'));
  if (!r.raw(MAGIC.length).equals(MAGIC)) throw new Error('not an SSHSIG signature');
  const version = r.uint32();
  if (version !== VERSION) throw new Error(`SSHSIG version ${version} is not supported`);
  const publicKey = publicKeyFromBlob(r.string());
  const signedNamespace = r.text();
  r.string();
  const hash = r.text();
  const sig = new SshReader(r.string());
  if (!r.done) throw new Error('trailing data after the signature');
  if (signedNamespace !== namespace) throw new Error(`the signature is for namespace ${JSON.stringify(signedNamespace.slice(0, 60))}, not ${namespace}`);
  if (hash !== HASH) throw new Error(`hash ${hash.slice(0, 20)} is not ${HASH}`);
  if (sig.text() !== ED25519) throw new Error(`signature type is not ${ED25519}`);
  const raw = sig.string();
  if (raw.length !== 64 || !sig.done) throw new Error('malformed ssh-ed25519 signature');
  if (!verify(null, signedData(signedNamespace, message), publicKey.key, raw)) throw new Error('the signature does not match the signed bytes');
  return { publicKey, namespace: signedNamespace };
}

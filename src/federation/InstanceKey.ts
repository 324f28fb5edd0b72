import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidField } from '../errors/VisorError.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';
import { ED25519, publicKeyFromBlob, publicKeyLine, type SshPrivateKey } from '../trust/SshKeys.ts';
import { sshString } from '../trust/SshWire.ts';

/**
 * The instance's own signing key: an Ed25519 key made at the first start and kept in the data
 * directory (`instance-key.pem`, owner-only), with which it signs its catalogue's head statement.
 * Followers pin its public key line (`visor instance-key`, or `GET /catalog/HEAD`'s `key`, checked
 * out of band) as `upstreams.<name>.head_key`.
 */
export class InstanceKey {
  readonly signing: SshPrivateKey;

  private constructor(key: KeyObject) {
    const x = key.export({ format: 'jwk' }).x;
    if (key.asymmetricKeyType !== 'ed25519' || typeof x !== 'string') throw new Error('not an Ed25519 private key');
    this.signing = { key, publicKey: publicKeyFromBlob(Buffer.concat([sshString(ED25519), sshString(Buffer.from(x, 'base64url'))])) };
  }

  /** The public key line followers pin: `ssh-ed25519 AAAA… visor-instance@<name>`. */
  publicKeyLine(instance: string): string {
    return publicKeyLine(this.signing.publicKey, `visor-instance@${instance}`);
  }

  static async open(dataDir: string): Promise<InstanceKey> {
    const file = join(dataDir, 'instance-key.pem');
    let pem: string | undefined;
    try {
      pem = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (pem === undefined) {
      const { privateKey } = generateKeyPairSync('ed25519');
      await writeFileAtomic(file, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      return new InstanceKey(privateKey);
    }
    try {
      return new InstanceKey(createPrivateKey(pem));
    } catch (error) {
      throw invalidField('instance-key.pem', 'ed25519-private-key', 'a PKCS#8 Ed25519 private key', `${file}: ${(error as Error).message}; restore it from a backup (followers pin its public key)`);
    }
  }
}

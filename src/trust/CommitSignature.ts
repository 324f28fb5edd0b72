import { signSsh, verifySsh } from './SshSignature.ts';
import type { SshPrivateKey, SshPublicKey } from './SshKeys.ts';

/**
 * SSH signatures on git commits, byte for byte as `git commit -S` with `gpg.format=ssh` writes them:
 * an sshsig over the commit object without its signature, in the `git` namespace, carried in a
 * `gpgsig` header whose continuation lines start with one space. So `git verify-commit` and
 * `git log --show-signature`, given an allowed-signers file, check the daemon's commits, and this
 * module checks anyone's.
 */
export const GIT_NAMESPACE = 'git';
const HEADER = 'gpgsig ';

export type CommitSignatureCheck =
  | { state: 'good'; key: SshPublicKey }
  | { state: 'unsigned' }
  | { state: 'bad'; reason: string };

/** Splits a commit object into its header lines and the rest (the blank line and the message). */
function split(body: Buffer): { headers: string[]; rest: string } {
  const text = body.toString('utf8');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text.replace(/\n$/, '') : text.slice(0, end);
  return { headers: head.split('\n'), rest: end < 0 ? '\n' : text.slice(end + 1) };
}

/** The commit without any gpgsig header (and its continuation lines): what a signature covers. */
function unsignedPart(headers: string[]): { kept: string[]; signature: string | undefined } {
  const kept: string[] = [];
  let signature: string[] | undefined;
  let inSignature = false;
  for (const line of headers) {
    if (line.startsWith(HEADER)) {
      signature = [line.slice(HEADER.length)];
      inSignature = true;
    } else if (inSignature && line.startsWith(' ')) {
      signature!.push(line.slice(1));
    } else {
      inSignature = false;
      kept.push(line);
    }
  }
  return { kept, signature: signature ? `${signature.join('\n')}\n` : undefined };
}

/** The same commit signed by `key` (any signature it carried replaced): what git would have written with -S. */
export function signCommitBody(body: Buffer, key: SshPrivateKey): Buffer {
  const { headers, rest } = split(body);
  const { kept } = unsignedPart(headers);
  const payload = Buffer.from(`${kept.join('\n')}\n${rest}`, 'utf8');
  const armored = signSsh(key, payload, GIT_NAMESPACE).trimEnd().split('\n');
  return Buffer.from(`${kept.join('\n')}\n${HEADER}${armored.join('\n ')}\n${rest}`, 'utf8');
}

/** Whether a commit object carries a good SSH signature, and by which key (whether that key is trusted is the caller's question). */
export function checkCommitSignature(body: Buffer): CommitSignatureCheck {
  const { headers, rest } = split(body);
  const { kept, signature } = unsignedPart(headers);
  if (signature === undefined) return { state: 'unsigned' };
  try {
    const { publicKey } = verifySsh(signature, Buffer.from(`${kept.join('\n')}\n${rest}`, 'utf8'), GIT_NAMESPACE);
    return { state: 'good', key: publicKey };
  } catch (error) {
    return { state: 'bad', reason: (error as Error).message };
  }
}

/** A commit object's parent ids, in order. */
export function commitParents(body: Buffer): string[] {
  return split(body).headers.filter((l) => l.startsWith('parent ')).map((l) => l.slice('parent '.length));
}

/** The same commit with its parents replaced (a chain being re-signed gets new ids from its first commit on). */
export function withParents(body: Buffer, parents: string[]): Buffer {
  const { headers, rest } = split(body);
  const others = headers.filter((l) => !l.startsWith('parent '));
  const tree = others.findIndex((l) => l.startsWith('tree '));
  others.splice(tree + 1, 0, ...parents.map((p) => `parent ${p}`));
  return Buffer.from(`${others.join('\n')}\n${rest}`, 'utf8');
}

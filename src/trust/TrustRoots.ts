import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { ROOT_FILE } from '../catalog/CatalogLayout.ts';
import { isQualifiedIdentity } from './EndorsementStatement.ts';
import { parsePublicKeyLine, type SshPublicKey } from './SshKeys.ts';

/**
 * The catalogue's trust roots (trust/root.json, TUF's root role): the few keys whose threshold of
 * signatures the endorser list needs, and a rotation of the roots themselves.
 *
 *   { "version": 1, "threshold": 2, "roots": [ { "identity": "alice@site-a", "key": "ssh-ed25519 AAAA…" }, … ] }
 *
 * One key per root, each key and identity once, threshold 1..roots.length; the version grows by one
 * with every rotation, so an older root file can never be put back.
 */
export interface TrustRoot {
  identity: string;
  key: SshPublicKey;
}

export interface RootFile {
  version: number;
  threshold: number;
  roots: TrustRoot[];
  /** The parsed JSON, as a signature covers it. */
  content: unknown;
}

/** The largest trust file read: real ones are a few KiB; a padded one costs every check. */
export const MAX_TRUST_FILE_BYTES = 64 * 1024;

const SHAPE = '{"version": 1, "threshold": 1, "roots": [{"identity": "name@instance", "key": "ssh-ed25519 AAAA…"}]}';

/** Reads root.json's text; answers the roots only when the whole file is well formed (half a root list is no root list). */
export function parseRootFile(text: string): { root?: RootFile; problems: FileProblem[] } {
  const problems: FileProblem[] = [];
  const bad = (field: string, rule: string, expected: string, message: string) => problems.push({ file: ROOT_FILE, field, rule, expected, message: `${ROOT_FILE} ${field === '(file)' ? '' : `${field} `}${message}` });
  if (Buffer.byteLength(text) > MAX_TRUST_FILE_BYTES) {
    bad('(file)', 'max-size', `at most ${MAX_TRUST_FILE_BYTES} bytes`, `is ${Buffer.byteLength(text)} bytes`);
    return { problems };
  }
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch (error) {
    bad('(file)', 'json', 'a JSON object', `is not JSON: ${(error as Error).message}`);
    return { problems };
  }
  const o = content as { version?: unknown; threshold?: unknown; roots?: unknown } | null;
  if (typeof o !== 'object' || o === null || Array.isArray(o) || Object.keys(o).some((k) => k !== 'version' && k !== 'threshold' && k !== 'roots')) {
    bad('(file)', 'type', SHAPE, 'is not an object of version, threshold and roots (and nothing else)');
    return { problems };
  }
  if (typeof o.version !== 'number' || !Number.isSafeInteger(o.version) || o.version < 1) bad('version', 'type', 'an integer from 1', `${JSON.stringify(o.version)} is not a version`);
  const roots: TrustRoot[] = [];
  if (!Array.isArray(o.roots) || o.roots.length === 0) bad('roots', 'type', 'a non-empty list of {"identity", "key"}', 'is not a non-empty list of roots');
  else {
    const identities = new Set<string>();
    const keys = new Map<string, string>();
    o.roots.forEach((entry: unknown, i) => {
      const where = `roots[${i}]`;
      const e = entry as { identity?: unknown; key?: unknown } | null;
      if (typeof e !== 'object' || e === null || Array.isArray(e) || Object.keys(e).some((k) => k !== 'identity' && k !== 'key')) return bad(where, 'type', 'an object with identity and key', 'is not a root');
      if (typeof e.identity !== 'string' || !isQualifiedIdentity(e.identity)) return bad(`${where}.identity`, 'pattern', 'name@instance', `${JSON.stringify(e.identity)} is not a qualified identity`);
      if (identities.has(e.identity)) return bad(`${where}.identity`, 'unique', 'each root once', `${e.identity} is listed twice`);
      identities.add(e.identity);
      if (typeof e.key !== 'string') return bad(`${where}.key`, 'type', 'an ssh-ed25519 public key line', 'is not a string');
      let key: SshPublicKey;
      try {
        key = parsePublicKeyLine(e.key, `${where}.key`);
      } catch (error) {
        return bad(`${where}.key`, 'ssh-ed25519', 'an ssh-ed25519 public key line', (error as Error).message.replace(`${where}.key: `, ''));
      }
      const other = keys.get(key.fingerprint);
      if (other) return bad(`${where}.key`, 'unique', 'distinct keys (each root counts once)', `key ${key.fingerprint} is already the key of ${other}`);
      keys.set(key.fingerprint, e.identity);
      roots.push({ identity: e.identity, key });
    });
  }
  const count = Array.isArray(o.roots) ? o.roots.length : 0;
  if (typeof o.threshold !== 'number' || !Number.isSafeInteger(o.threshold) || o.threshold < 1 || o.threshold > Math.max(count, 1)) {
    const expected = `an integer from 1 to the number of roots (${count})`;
    bad('threshold', 'range', expected, `${JSON.stringify(o.threshold)} is not ${expected}`);
  }
  if (problems.length > 0) return { problems };
  return { root: { version: o.version as number, threshold: o.threshold as number, roots, content }, problems };
}

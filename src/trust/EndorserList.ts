import type { FileProblem } from '../catalog/CatalogScanner.ts';
import { ENDORSERS_FILE } from '../catalog/CatalogLayout.ts';
import { isQualifiedIdentity } from './EndorsementStatement.ts';
import { parsePublicKeyLine, type SshPublicKey } from './SshKeys.ts';

/**
 * The catalogue's endorsers (trust/endorsers.json): who may endorse, and with which keys.
 *
 *   { "endorsers": [ { "identity": "alice@site-a", "keys": ["ssh-ed25519 AAAA… alice"] } ] }
 *
 * A key belongs to one identity. For now the list changes by an ordinary reviewed change; a
 * threshold of trust roots for it (TUF's root role) comes later.
 */
export interface ListedKey {
  identity: string;
  key: SshPublicKey;
}

export class EndorserList {
  private readonly byKey: Map<string, ListedKey>;
  readonly problems: FileProblem[];

  private constructor(byKey: Map<string, ListedKey>, problems: FileProblem[]) {
    this.byKey = byKey;
    this.problems = problems;
  }

  static empty(): EndorserList {
    return new EndorserList(new Map(), []);
  }

  /** Reads the file's text (undefined: no file, no endorsers). Problems are kept, and what is well-formed still counts. */
  static parse(text: string | undefined): EndorserList {
    const byKey = new Map<string, ListedKey>();
    const problems: FileProblem[] = [];
    if (text === undefined) return new EndorserList(byKey, problems);
    const bad = (field: string, rule: string, expected: string, message: string) => problems.push({ file: ENDORSERS_FILE, field, rule, expected, message: `${field}: ${message}` });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      bad('(file)', 'json', 'a JSON object', `is not JSON: ${(error as Error).message}`);
      return new EndorserList(byKey, problems);
    }
    const list = (parsed as { endorsers?: unknown } | null)?.endorsers;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.keys(parsed).some((k) => k !== 'endorsers') || !Array.isArray(list)) {
      bad('endorsers', 'type', '{"endorsers": [{"identity": "name@instance", "keys": ["ssh-ed25519 …"]}]}', 'is not a list of endorsers (and nothing else)');
      return new EndorserList(byKey, problems);
    }
    const identities = new Set<string>();
    list.forEach((entry: unknown, i) => {
      const where = `endorsers[${i}]`;
      const e = entry as { identity?: unknown; keys?: unknown } | null;
      if (typeof e !== 'object' || e === null || Object.keys(e).some((k) => k !== 'identity' && k !== 'keys')) return bad(where, 'type', 'an object with identity and keys', 'is not an endorser');
      if (typeof e.identity !== 'string' || !isQualifiedIdentity(e.identity)) return bad(`${where}.identity`, 'pattern', 'name@instance', `${JSON.stringify(e.identity)} is not a qualified identity`);
      if (identities.has(e.identity)) return bad(`${where}.identity`, 'unique', 'each endorser once', `${e.identity} is listed twice`);
      identities.add(e.identity);
      if (!Array.isArray(e.keys) || e.keys.length === 0) return bad(`${where}.keys`, 'type', 'a non-empty list of OpenSSH public key lines', 'is not such a list');
      e.keys.forEach((line: unknown, j) => {
        const field = `${where}.keys[${j}]`;
        if (typeof line !== 'string') return bad(field, 'type', 'an ssh-ed25519 public key line', 'is not a string');
        try {
          const key = parsePublicKeyLine(line, field);
          const other = byKey.get(key.fingerprint);
          if (other) return bad(field, 'unique', 'a key listed once', `key ${key.fingerprint} is already listed for ${other.identity}`);
          byKey.set(key.fingerprint, { identity: e.identity as string, key });
        } catch (error) {
          bad(field, 'ssh-ed25519', 'an ssh-ed25519 public key line', (error as Error).message.replace(`${field}: `, ''));
        }
      });
    });
    return new EndorserList(byKey, problems);
  }

  /** The listed key with this fingerprint, if any. */
  key(fingerprint: string): ListedKey | undefined {
    return this.byKey.get(fingerprint);
  }

  get size(): number {
    return this.byKey.size;
  }
}

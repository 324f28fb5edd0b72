/**
 * The bytes a statement's signature covers. A signature is over bytes, not meaning, so the same
 * statement must always serialise to the same bytes, whoever writes the file and however it is
 * indented. The canonical form (the subset of RFC 8785, JCS, that statements use):
 * - objects' keys sorted by UTF-16 code unit (for the ASCII keys statements use: byte order), no
 *   whitespace anywhere, each key once;
 * - strings as JSON.stringify writes them (only `"`, `\` and control characters escaped, everything
 *   else as UTF-8);
 * - numbers are non-negative safe integers (sizes), written in decimal without exponent: no floats,
 *   whose text differs between implementations;
 * - true, false, null; arrays keep their order;
 * - UTF-8, no trailing newline.
 * `jq -cjS .statement FILE` prints the same bytes for any statement (its text holds no control
 * characters, its numbers are integers; the tests compare), so `ssh-keygen -Y verify` can check an
 * endorsement without VISOR.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${value} is not a non-negative safe integer (the canonical form has no other numbers)`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new Error(`a ${typeof value} has no canonical JSON form`);
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

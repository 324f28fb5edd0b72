import { InvalidArgumentError } from 'commander';

/** Commander parsers for option values; they fail as usage errors (exit 2). */

export function parseNonNegativeInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

/** For repeatable options: --tag a --tag b → ['a', 'b']. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** For repeatable key=value options: --property k=v --property k2=v2. */
export function collectKeyValue(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const equals = value.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError('expected key=value');
  return { ...previous, [value.slice(0, equals)]: value.slice(equals + 1) };
}

import type { ImageFilter } from '../client/ImageFilter.ts';
import type { ImagePatch } from '../client/VisorClient.ts';
import { invalidInput } from './CliError.ts';
import { ImageFieldTypes } from './imageFieldTypes.ts';

/** One `field=value` argument. */
export interface FieldAssignment {
  field: string;
  value: string;
}

const PROPERTY_PREFIX = 'property.';

export function parseAssignment(argument: string): FieldAssignment {
  const equals = argument.indexOf('=');
  if (equals <= 0) throw invalidInput(`expected field=value, got "${argument}"`);
  return { field: argument.slice(0, equals), value: argument.slice(equals + 1) };
}

/** Listing filters: a repeated field becomes a list (OR for fields, AND for tag), as the API expects. */
export function filtersToQuery(filters: readonly FieldAssignment[]): ImageFilter {
  const grouped = new Map<string, string[]>();
  for (const { field, value } of filters) grouped.set(field, [...(grouped.get(field) ?? []), value]);
  return Object.fromEntries([...grouped].map(([field, values]) => [field, values.length === 1 ? (values[0] as string) : values]));
}

/** Property changes (`property.k=v`, `property.k=` to remove) apart from whole-field changes. */
export interface UpdatePlan {
  patch: ImagePatch;
  propertyChanges: Map<string, string | null>;
}

/**
 * Turns `update` arguments into a patch, typed by the schema: integers for integer fields, comma-separated
 * lists for tags, and an empty value (`field=`) as null, which removes the field.
 */
export function planUpdate(assignments: readonly FieldAssignment[], types = new ImageFieldTypes()): UpdatePlan {
  const patch: Record<string, unknown> = {};
  const propertyChanges = new Map<string, string | null>();
  for (const { field, value } of assignments) {
    if (field.startsWith(PROPERTY_PREFIX)) {
      const key = field.slice(PROPERTY_PREFIX.length);
      if (key === '') throw invalidInput(`"${field}" names no property; use property.<key>=<value>`);
      propertyChanges.set(key, value === '' ? null : value);
      continue;
    }
    const type = types.typeOf(field);
    if (type === undefined) {
      throw invalidInput(`unknown field "${field}"; fields: ${types.writableFields().join(', ')}, property.<key>`);
    }
    if (types.isReadOnly(field)) throw invalidInput(`${field} is read-only; the daemon sets it`);
    patch[field] = value === '' ? null : typedValue(field, type, value);
  }
  return { patch: patch as ImagePatch, propertyChanges };
}

/** Applies property changes to the image's current properties; null when none remain. */
export function mergeProperties(
  current: Readonly<Record<string, string>> | undefined,
  changes: ReadonlyMap<string, string | null>,
): Record<string, string> | null {
  const merged: Record<string, string> = { ...current };
  for (const [key, value] of changes) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return Object.keys(merged).length === 0 ? null : merged;
}

function typedValue(field: string, type: string, value: string): unknown {
  switch (type) {
    case 'integer':
      if (!/^-?\d+$/.test(value)) throw invalidInput(`${field}: expected an integer, got "${value}"`);
      return Number(value);
    case 'array':
      return value.split(',').map((item) => item.trim()).filter((item) => item !== '');
    case 'object':
      throw invalidInput(`${field} is set per key: use ${field === 'properties' ? 'property.<key>=<value>' : `${field}.<key>=<value>`}`);
    default:
      return value;
  }
}

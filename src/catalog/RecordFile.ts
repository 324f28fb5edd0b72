import type { ImageSchema } from './ImageSchema.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
import { INSTANCE_FIELDS } from '../api/ImageRecord.ts';

/**
 * The text of a catalogue file: keys in schema order, two-space indent, final newline. One canonical
 * form keeps diffs small and reviews readable.
 */
export function serializeRecord(record: ImageRecord, schema: ImageSchema): string {
  const source = record as unknown as Record<string, unknown>;
  const ordered: Record<string, unknown> = {};
  for (const field of schema.fields) {
    if ((INSTANCE_FIELDS as readonly string[]).includes(field)) continue;
    if (source[field] !== undefined) ordered[field] = source[field];
  }
  // Fields the schema does not know are kept (last) for validation to report, never dropped silently.
  for (const [field, value] of Object.entries(source)) {
    if (!(field in ordered) && !(INSTANCE_FIELDS as readonly string[]).includes(field) && value !== undefined) ordered[field] = value;
  }
  return `${JSON.stringify(ordered, null, 2)}\n`;
}

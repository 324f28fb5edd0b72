import type { ImageInspection, ImageView } from '../../api/ImageRecord.ts';
import { formatBytes } from './formatBytes.ts';

/** Display order: identity first, then what it is, then where it is, then bookkeeping. */
const FIELD_ORDER = [
  'id', 'name', 'status', 'access', 'architecture', 'type', 'disk', 'container_format',
  'size', 'virtual_size', 'inspection', 'min_disk', 'min_ram', 'checksum', 'series', 'tags', 'kernel', 'ramdisk',
  'store', 'locations', 'owner', 'created_at', 'updated_at', 'uploaded_at', 'accessed_at', 'access_count', 'uri',
];

/** One image as aligned `key  value` lines; properties as property.<key>, the Markdown description last. */
export function imageSheet(image: ImageView): string {
  const fields = image as unknown as Record<string, unknown>;
  const rows: Array<[string, string]> = [];
  const remaining = Object.keys(fields).filter((f) => !FIELD_ORDER.includes(f) && f !== 'properties' && f !== 'description');
  for (const field of [...FIELD_ORDER, ...remaining]) {
    const value = fields[field];
    if (value !== undefined && value !== null) rows.push([field, displayValue(field, value)]);
  }
  for (const [key, value] of Object.entries(image.properties ?? {})) rows.push([`property.${key}`, value]);

  const width = Math.max(...rows.map(([key]) => key.length)) + 2;
  const lines = rows.map(([key, value]) => `${key.padEnd(width)}${value}`);
  if (image.description !== undefined && image.description !== '') {
    lines.push('description', ...image.description.split('\n').map((line) => `  ${line}`));
  }
  return lines.join('\n');
}

function displayValue(field: string, value: unknown): string {
  switch (field) {
    case 'size':
    case 'virtual_size':
      return `${formatBytes(value as number)} (${String(value)} bytes)`;
    case 'min_disk':
      return `${String(value)} GiB`;
    case 'min_ram':
      return `${String(value)} MiB`;
    case 'inspection': {
      const i = value as ImageInspection;
      const qcow2 = [i.cluster_size !== undefined ? `cluster size ${i.cluster_size}` : '', i.compat !== undefined ? `compat ${i.compat}` : ''].filter(Boolean);
      return [i.format, `${formatBytes(i.virtual_size)} virtual`, ...qcow2, `inspected ${i.inspected_at} (${i.inspector})`].join(', ');
    }
    case 'tags':
      return (value as string[]).join(', ');
    case 'locations':
      return (value as Array<{ store: string; key: string }>).map((l) => `${l.store}:${l.key}`).join(', ');
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}

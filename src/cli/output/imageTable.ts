import Table from 'cli-table3';
import type { ImageBrief } from '../../api/ImageRecord.ts';
import { formatBytes } from './formatBytes.ts';

const COLUMNS = ['ID', 'NAME', 'ARCH', 'ACCESS', 'STATUS', 'DISK', 'SIZE', 'SERIES', 'TAGS'];

/** A table of images, one row each, with the brief fields people scan for. */
export function imageTable(images: readonly ImageBrief[]): string {
  if (images.length === 0) return 'no images';
  // No colours: the table is also read from pipes and logs.
  const table = new Table({ head: COLUMNS, style: { head: [], border: [] } });
  for (const image of images) {
    table.push([
      image.id,
      image.name,
      image.architecture ?? '',
      image.access,
      image.status,
      image.disk ?? '',
      image.size === undefined ? '' : formatBytes(image.size),
      image.series ?? '',
      (image.tags ?? []).join(', '),
    ]);
  }
  return table.toString();
}

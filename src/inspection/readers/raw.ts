import { sizeOf, type FormatReader } from '../FormatReader.ts';

/** Raw: what no other reader recognises. Its virtual size is its length. */
export const rawReader: FormatReader = {
  format: 'raw',
  wants: () => [],
  read: (bytes) => ({ format: 'raw', virtualSize: sizeOf(bytes), refusals: [] }),
};

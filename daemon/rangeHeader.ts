import type { ByteRange } from '../src/store/ImageStore.ts';
import { RangeNotSatisfiable } from '../src/errors/VisorError.ts';

/**
 * The single byte range a Range header asks for, or undefined to send the whole file (no header,
 * a syntax we do not serve such as several ranges, or an If-Range that no longer matches), per RFC 9110.
 */
export function pickRange(header: string | undefined, size: number, ifRange: string | undefined, etag: string): ByteRange | undefined {
  if (!header) return undefined;
  if (ifRange !== undefined && ifRange !== etag) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw unsatisfiable(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): RangeNotSatisfiable {
  return new RangeNotSatisfiable(size);
}

const MiB = 1 << 20;

/**
 * Size of part `partNumber` (1-based) of a multipart write. With the total known, parts are uniform
 * and just large enough to fit under the store's part limit. With it unknown, the size doubles every
 * fifth of the limit, so a write of any size up to ~31 × maxParts/5 × base fits, while memory (part
 * size × parts in flight) stays small for the common sizes.
 */
export function partSizeFor(partNumber: number, base: number, maxParts: number, expectedSize?: number): number {
  if (expectedSize !== undefined) {
    const needed = Math.ceil(expectedSize / maxParts);
    return Math.max(base, Math.ceil(needed / MiB) * MiB);
  }
  const step = Math.max(1, Math.floor(maxParts / 5));
  return base * 2 ** Math.min(4, Math.floor((partNumber - 1) / step));
}

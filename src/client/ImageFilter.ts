/**
 * Filters, sorting and paging for GET /images and /images/detail: any field=value (an array repeats the
 * field: OR for fields, AND for tag), property.<key>=value, <field>_min/_max, sort, dir, limit, marker.
 */
export type ImageFilter = Record<string, string | number | readonly string[]>;

export function toSearchParams(query: ImageFilter = {}): URLSearchParams {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (typeof value === 'string' || typeof value === 'number') params.append(key, String(value));
    else for (const item of value) params.append(key, item);
  }
  return params;
}

import type { ImageRecord } from '../api/ImageRecord.ts';
import { glanceStatusOf } from './GlanceStatus.ts';
import { FIELD_PROPERTIES, GLANCE_READ_ONLY, isReserved } from './GlanceFields.ts';

/** A Glance v2 image: base properties, then custom ones (strings) at the top level. */
export type GlanceImage = Record<string, unknown> & { id: string; name: string | null; visibility: string; created_at: string };

/** Glance's date form: seconds, UTC, `Z` (YYYY-MM-DDTHH:MM:SSZ). */
export function glanceDate(iso: string): string {
  return `${iso.slice(0, 19)}Z`;
}

/** The properties every view has, in Glance's order (the rest are custom). */
export const BASE_PROPERTIES = new Set([
  'id', 'name', 'status', 'visibility', 'protected', 'os_hidden', 'checksum', 'os_hash_algo', 'os_hash_value', 'owner', 'size', 'virtual_size',
  'container_format', 'disk_format', 'created_at', 'updated_at', 'tags', 'min_ram', 'min_disk', 'self', 'file', 'schema',
]);

/**
 * A VISOR record as a Glance v2 image. `shared`: a private image granted to someone (Glance's
 * `shared`; VISOR keeps grants outside the record). `checksum` is the md5 its upload through /v2
 * computed; the multihash (`os_hash_algo`, `os_hash_value`) is VISOR's own checksum (sha256, or sha512
 * with uploads.checksum), as a Glance whose `hashing_algorithm` is that one gives it, so every image
 * with a file is verifiable by glanceclient whichever route uploaded it. A sha512 an earlier /v2
 * upload computed is still shown.
 */
export function glanceImageOf(r: ImageRecord, shared: boolean): GlanceImage {
  const [algo, value] = r.digests?.sha512 !== undefined ? ['sha512', r.digests.sha512] : r.checksum !== undefined ? r.checksum.split(':') : [undefined, undefined];
  const view: GlanceImage = {
    id: r.id,
    name: r.name,
    status: glanceStatusOf(r),
    visibility: r.access === 'public' ? (r.community === true ? 'community' : 'public') : shared ? 'shared' : 'private',
    protected: r.protected === true,
    os_hidden: r.unlisted === true,
    checksum: r.digests?.md5 ?? null,
    os_hash_algo: algo ?? null,
    os_hash_value: value ?? null,
    owner: r.owner,
    size: r.size ?? null,
    virtual_size: r.virtual_size ?? null,
    container_format: r.container_format ?? null,
    disk_format: r.disk === undefined || r.disk === 'none' ? null : r.disk,
    created_at: glanceDate(r.created_at),
    updated_at: glanceDate(r.updated_at),
    tags: r.tags ?? [],
    min_ram: r.min_ram ?? 0,
    min_disk: r.min_disk ?? 0,
    self: `/v2/images/${r.id}`,
    file: `/v2/images/${r.id}/file`,
    schema: '/v2/schemas/image',
  };
  for (const [property, field] of Object.entries(FIELD_PROPERTIES)) {
    const value = r[field];
    if (typeof value === 'string') view[property] = value;
  }
  // A VISOR property named like a Glance base or reserved one cannot be told apart from it: left out.
  for (const [key, value] of Object.entries(r.properties ?? {})) {
    if (!BASE_PROPERTIES.has(key) && !GLANCE_READ_ONLY.has(key) && !isReserved(key) && !(key in FIELD_PROPERTIES)) view[key] = value;
  }
  return view;
}

/**
 * The API versions the Glance v2 edge advertises (GET / and GET /versions): only minor versions whose
 * features it implements. glanceclient needs some id starting v2 (else it falls back to v1);
 * keystoneauth (openstack) uses the self link, absolute, as the base of every later call.
 * 2.0: images, schemas, tags; 2.1: members; 2.3: deactivate and reactivate; 2.6: interoperable import
 * (info/import, stage, import); 2.5: community visibility; 2.7: os_hidden and multihash (os_hash_algo,
 * os_hash_value). Not advertised: 2.8 (multi-store: its `stores` schema field breaks glanceclient 4.1).
 */
const VERSIONS = [
  { id: 'v2.7', status: 'CURRENT' },
  { id: 'v2.6', status: 'SUPPORTED' },
  { id: 'v2.5', status: 'SUPPORTED' },
  { id: 'v2.3', status: 'SUPPORTED' },
  { id: 'v2.1', status: 'SUPPORTED' },
  { id: 'v2.0', status: 'SUPPORTED' },
] as const;

export interface VersionsDocument {
  versions: { id: string; status: string; links: { rel: string; href: string }[] }[];
}

/** The versions document, its links under `base` (where this instance is reached, e.g. http://127.0.0.1:4568). */
export function versionsDocument(base: string): VersionsDocument {
  const href = `${base.replace(/\/+$/, '')}/v2/`;
  return { versions: VERSIONS.map((v) => ({ id: v.id, status: v.status, links: [{ rel: 'self', href }] })) };
}

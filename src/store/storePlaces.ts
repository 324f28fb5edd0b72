/**
 * Places of stores (StoreDescriptor.places): strings that every object of a store starts with, so
 * that two stores reach the same objects exactly when one's place starts with the other's.
 */

/**
 * A URL as a place, whatever its scheme (a web server serves the same files over http and https, on
 * their default ports); another port is another server.
 */
export function webPlace(url: string): string {
  const u = new URL(url);
  const path = u.pathname.endsWith('/') ? u.pathname : `${u.pathname}/`;
  return `//${u.host}${path}`;
}

/**
 * An S3 bucket's objects under a prefix, by the service's own name for the bucket and by each URL a
 * web server (or an http store) can reach them at: path style, and a virtual host per bucket.
 */
export function s3Places(endpoint: string | undefined, region: string, bucket: string, prefix: string): string[] {
  if (endpoint !== undefined) {
    const host = new URL(endpoint).host;
    return [`${webPlace(endpoint)}${bucket}/${prefix}`, `//${bucket}.${host}/${prefix}`];
  }
  return [
    `//${bucket}.s3.amazonaws.com/${prefix}`,
    `//${bucket}.s3.${region}.amazonaws.com/${prefix}`,
    `//s3.amazonaws.com/${bucket}/${prefix}`,
    `//s3.${region}.amazonaws.com/${bucket}/${prefix}`,
  ];
}

/** Two places reach a common object when one contains the other. */
export function placesOverlap(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

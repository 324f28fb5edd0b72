import { invalidField } from '../errors/VisorError.ts';

/** Image ids are lowercase UUIDs; nothing else may reach a path, so nothing can escape the catalogue. */
export const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const IMAGES_DIR = 'images';
export const CATALOG_CONFIG_FILE = 'visor-catalog.json';
export const SCHEMA_VERSION = 1;
/**
 * The catalogue's own copy of the checker its CI runs (`node .visor/visor-check.mjs validate`): one
 * file bundled from this installation's `catalog validate`, since no `visor` package is published
 * for a runner to install.
 */
export const VENDORED_CHECKER = '.visor/visor-check.mjs';

export function isImageId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function assertImageId(value: string, field = 'id'): string {
  if (!isImageId(value)) {
    throw invalidField(field, 'pattern', 'a lowercase UUID such as 3f2b6c1e-9a4d-4e8b-b1f7-0c2d5e6f7a8b', `${field}: "${value.slice(0, 80)}" is not an image id (a lowercase UUID)`);
  }
  return value;
}

/**
 * images/<first two hex digits>/<id>.json: 256 shards keep every folder under a few thousand files
 * up to about a million images.
 */
export function recordPath(id: string): string {
  return `${IMAGES_DIR}/${id.slice(0, 2)}/${id}.json`;
}

const RECORD_PATH = /^images\/([0-9a-f]{2})\/([0-9a-f-]{36})\.json$/;

/** The id a catalogue path names, or undefined when the path is not a well-placed record file. */
export function idFromPath(path: string): string | undefined {
  const m = RECORD_PATH.exec(path);
  if (!m || !m[2] || !isImageId(m[2]) || m[2].slice(0, 2) !== m[1]) return undefined;
  return m[2];
}

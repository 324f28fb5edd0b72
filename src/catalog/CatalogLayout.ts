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

/**
 * Signed statements about images (src/trust): endorsements/<id[0:2]>/<id>/<kind>-<issued, compact
 * UTC>-<key fingerprint as hex>.json, beside the record they speak of, sharded like it. One file per
 * statement, never changed: a name unique per key and second, lowercase only (no two differ by case).
 */
export const ENDORSEMENTS_DIR = 'endorsements';
/** The catalogue's endorsers and their public keys. */
export const ENDORSERS_FILE = 'trust/endorsers.json';
/** The catalogue's trust roots (TUF's root role): whose signatures the endorser list and the roots' own rotation need. */
export const ROOT_FILE = 'trust/root.json';
/** The roots' signatures over root.json and endorsers.json, one entry per signed file. */
export const TRUST_SIGNATURES_FILE = 'trust/signatures.json';

export function endorsementDir(id: string): string {
  return `${ENDORSEMENTS_DIR}/${id.slice(0, 2)}/${id}`;
}

const STATEMENT_PATH = /^endorsements\/([0-9a-f]{2})\/([0-9a-f-]{36})\/(endorsement|revocation)-(\d{8}T\d{6}Z)-([0-9a-f]{64})\.json$/;

export interface StatementPath {
  id: string;
  kind: 'endorsement' | 'revocation';
  /** Compact UTC: 20261206T102246Z. */
  issued: string;
  /** The signing key's SHA-256 fingerprint, hex. */
  keyHex: string;
}

/** What a path under endorsements/ names, or undefined when it is not a well-placed statement file. */
export function statementFromPath(path: string): StatementPath | undefined {
  const m = STATEMENT_PATH.exec(path);
  if (!m || !isImageId(m[2]!) || m[2]!.slice(0, 2) !== m[1]) return undefined;
  return { id: m[2]!, kind: m[3] as StatementPath['kind'], issued: m[4]!, keyHex: m[5]! };
}

/**
 * The one list of what may sit in a catalogue (the history checks refuse anything else): what
 * `catalog init` writes at the top level, records under images/, statements under endorsements/,
 * the endorser list, and the CI folders.
 */
const TOP_LEVEL_FILES = new Set(['README.md', 'LICENSE', CATALOG_CONFIG_FILE, '.gitattributes', '.gitignore', '.gitlab-ci.yml', VENDORED_CHECKER, ENDORSERS_FILE, ROOT_FILE, TRUST_SIGNATURES_FILE]);
const TOP_LEVEL_FOLDERS = ['.github/'];
const RECORD_FILE = /^images\/[0-9a-f]{2}\/[^/]+\.json$/;
const STATEMENT_FILE = /^endorsements\/[0-9a-f]{2}\/[^/]+\/[^/]+\.json$/;

export type CatalogFileKind = 'record' | 'statement' | 'other';

/** Whether a path has a place in a catalogue, and what it is; undefined when it has none. */
export function catalogFileKind(path: string): CatalogFileKind | undefined {
  if (RECORD_FILE.test(path)) return 'record';
  if (STATEMENT_FILE.test(path)) return 'statement';
  if (path === `${IMAGES_DIR}/.gitkeep` || TOP_LEVEL_FILES.has(path)) return 'other';
  return TOP_LEVEL_FOLDERS.some((folder) => path.startsWith(folder)) ? 'other' : undefined;
}

export const ALLOWED_PATHS_TEXT = 'images/<id[0:2]>/<id>.json, endorsements/<id[0:2]>/<id>/<statement>.json, trust/endorsers.json, trust/root.json, trust/signatures.json or a file catalog init writes';

import type { RouteName } from './routes.ts';

/** A JSON Schema (2020-12, as OpenAPI 3.1 takes it), or a reference to one of the document's components. */
export type JsonSchema = Record<string, unknown>;

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const object = (properties: Record<string, JsonSchema>, required: string[] = []): JsonSchema => ({ type: 'object', properties, ...(required.length > 0 ? { required } : {}) });
const string: JsonSchema = { type: 'string' };
const integer: JsonSchema = { type: 'integer', minimum: 0 };

/** What an answer carries: JSON of a schema, a file's bytes, a redirect, Prometheus's text, or nothing. */
export type AnswerBody = JsonSchema | 'bytes' | 'redirect' | 'text' | 'empty';

export interface QueryParameter {
  name: string;
  description: string;
  schema: JsonSchema;
}

/** What the API document says of one route, beside what the route table says (method, path, action). */
export interface RouteDoc {
  summary: string;
  /** Who may call it, when not anyone: said in the description. */
  who?: string;
  /** The status of a successful answer and its body. */
  ok: number;
  answer: AnswerBody;
  /** Other successful statuses (206 for a range, 304 when unchanged). */
  alsoOk?: Record<number, string>;
  request?: JsonSchema;
  query?: QueryParameter[];
}

const LIST_QUERY: QueryParameter[] = [
  { name: 'limit', description: 'images per page (default 25, at most 1000)', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
  { name: 'marker', description: 'id of the last image of the previous page (or follow `next`)', schema: string },
  { name: 'sort', description: 'field to sort by (default created_at); ties are broken by id', schema: string },
  { name: 'dir', description: 'sort direction (default desc)', schema: { enum: ['asc', 'desc'] } },
  { name: 'filters', description: 'any field by equality (`disk=qcow2`, repeatable for alternatives), `<field>_min` / `<field>_max` on integer and date fields, `tag=x` (all must be present), `property.<key>=value`; unknown parameters are refused', schema: { type: 'object', additionalProperties: { type: 'string' } } },
];

const ADMIN = 'admins';

/**
 * The rest of each route's description, by its name in the route table: the type system requires an
 * entry for every route and refuses one for a route that is not there, so the document cannot miss one.
 */
export const ROUTE_DOCS = {
  listImages: { summary: 'Brief records of the images the caller may see, a page at a time', ok: 200, answer: ref('ImageBriefPage'), query: LIST_QUERY },
  listImageDetails: { summary: 'Whole records of the images the caller may see, a page at a time', ok: 200, answer: ref('ImagePage'), query: LIST_QUERY },
  showImage: { summary: 'One image record (ETag; If-None-Match answers 304)', ok: 200, answer: ref('Image'), alsoOk: { 304: 'unchanged since the ETag given' } },
  createImage: { summary: 'Register an image (status locked until its file is uploaded)', who: 'signed-in accounts', ok: 201, answer: ref('Image'), request: ref('ImageInput') },
  updateImage: { summary: 'Change read-write fields; null removes one; optional If-Match', who: 'the owner, commit grantees and admins', ok: 200, answer: ref('Image'), request: ref('ImagePatch') },
  deleteImage: { summary: 'Delete the record (a commit) and its file', who: 'the owner and admins', ok: 200, answer: ref('Image') },
  uploadFile: {
    summary: "Upload the image's file (application/octet-stream), hashed and inspected on the way",
    who: 'the owner, commit grantees and admins',
    ok: 200,
    answer: ref('Image'),
    request: { type: 'string', contentMediaType: 'application/octet-stream' },
    query: [
      { name: 'checksum', description: 'expected digest, <algorithm>:<hex>: the upload fails if the file does not match', schema: string },
      { name: 'algorithm', description: 'digest the daemon records', schema: { enum: ['sha256', 'sha512'] } },
    ],
  },
  downloadFile: { summary: "The image's file (ETag and Repr-Digest carry its digest; single ranges answer 206)", ok: 200, answer: 'bytes', alsoOk: { 206: 'the range asked for', 304: 'unchanged since the ETag given' } },
  imageHistory: { summary: 'Each change of the image: commit, author, date, fields old and new', ok: 200, answer: object({ history: { type: 'array', items: ref('HistoryEntry') } }, ['history']) },
  imageEndorsements: { summary: "The image's endorsements and their state, its deprecation and ancestry", ok: 200, answer: { type: 'object' } },
  copyImage: { summary: "Copy (or move) the file to another store, verified on arrival", who: 'the owner and admins', ok: 200, answer: ref('Image'), request: object({ to: string, move: { type: 'boolean' } }, ['to']) },
  linkImage: { summary: 'Register a file already in a store as the image’s file, read once to verify', who: 'the owner and admins', ok: 200, answer: ref('Image'), request: object({ url: string, store: string, key: string, checksum: string }) },
  inspectImage: { summary: "Inspect the file's format again (images uploaded before inspection)", who: 'the owner and admins', ok: 200, answer: ref('Image') },
  scanImage: { summary: 'Scan the file for malware now', who: 'the owner and admins', ok: 200, answer: ref('Image') },
  releaseImage: { summary: 'Let a quarantined image be served again', who: ADMIN, ok: 200, answer: ref('Image') },
  latestOfSeries: { summary: 'The newest available image of a series', ok: 200, answer: ref('Image'), query: [{ name: 'owner', description: "whose images of the series (required when the caller sees several owners' images in it)", schema: string }] },
  latestFileOfSeries: { summary: "Redirects to the file of the series' newest available image", ok: 302, answer: 'redirect', query: [{ name: 'owner', description: 'whose images of the series', schema: string }] },
  listGrants: { summary: "The image's grants", who: 'the owner and admins', ok: 200, answer: ref('ImageGrants') },
  grantUser: { summary: 'Grant a user checkout or commit', who: 'the owner and admins', ok: 200, answer: ref('ImageGrants'), request: object({ permission: { enum: ['checkout', 'commit'] } }, ['permission']) },
  grantGroup: { summary: 'Grant a group checkout or commit', who: 'the owner and admins', ok: 200, answer: ref('ImageGrants'), request: object({ permission: { enum: ['checkout', 'commit'] } }, ['permission']) },
  revokeUser: { summary: "Withdraw a user's grant", who: 'the owner and admins', ok: 200, answer: ref('ImageGrants') },
  revokeGroup: { summary: "Withdraw a group's grant", who: 'the owner and admins', ok: 200, answer: ref('ImageGrants') },
  whoami: { summary: 'The account of the key sent, or anonymous', ok: 200, answer: { anyOf: [ref('User'), object({ name: { type: 'null' }, anonymous: { const: true } }, ['name', 'anonymous'])] } },
  listUsers: { summary: 'Every account', who: ADMIN, ok: 200, answer: object({ users: { type: 'array', items: ref('User') } }, ['users']) },
  createUser: { summary: 'Create an account; its key is in this answer only', who: ADMIN, ok: 201, answer: ref('IssuedKey'), request: object({ name: string, role: { enum: ['admin', 'user', 'sync'] }, groups: { type: 'array', items: string } }, ['name']) },
  showUser: { summary: 'One account (never its key)', who: ADMIN, ok: 200, answer: ref('User') },
  updateUser: { summary: "Change an account's role or disable it", who: ADMIN, ok: 200, answer: ref('User'), request: object({ role: { enum: ['admin', 'user', 'sync'] }, disabled: { type: 'boolean' } }) },
  removeUser: { summary: 'Delete an account, its key, memberships and grants', who: ADMIN, ok: 200, answer: ref('User') },
  rotateKey: { summary: "Replace an account's key; the new one is in this answer only", who: ADMIN, ok: 200, answer: ref('IssuedKey') },
  listGroups: { summary: 'Every group', who: ADMIN, ok: 200, answer: object({ groups: { type: 'array', items: ref('Group') } }, ['groups']) },
  createGroup: { summary: 'Create a group', who: ADMIN, ok: 201, answer: ref('Group'), request: object({ name: string }, ['name']) },
  deleteGroup: { summary: 'Delete a group', who: ADMIN, ok: 200, answer: ref('Group') },
  addGroupMember: { summary: 'Add a member to a group', who: ADMIN, ok: 200, answer: ref('Group') },
  removeGroupMember: { summary: 'Remove a member from a group', who: ADMIN, ok: 200, answer: ref('Group') },
  usageReport: {
    summary: 'Usage statistics: downloads, unused images, activity per user, storage per store and owner',
    who: ADMIN,
    ok: 200,
    answer: { type: 'object' },
    query: ['unused_days', 'top', 'activity_days'].map((name) => ({ name, description: 'an integer from 0 to 100000', schema: integer })),
  },
  sync: { summary: 'Sync upstream catalogues now (all, or ?upstream=NAME)', who: 'admins and sync accounts', ok: 200, answer: object({ results: { type: 'array', items: { type: 'object' } } }, ['results']), query: [{ name: 'upstream', description: 'the one upstream to sync', schema: string }] },
  syncWebhook: { summary: "A forge's push notification, signed with the upstream's webhook secret (no key)", ok: 202, answer: { type: 'object' } },
  catalogHead: { summary: "The shared catalogue's head commit", ok: 200, answer: object({ commit: { type: ['string', 'null'] } }) },
  catalogRoot: { summary: "The shared catalogue's top folder, from its head commit", ok: 200, answer: { type: 'object' } },
  catalogFile: { summary: 'A file or folder of the shared catalogue at its head commit (the path may hold slashes)', ok: 200, answer: 'bytes' },
  listHidden: { summary: "Other instances' images this site does not offer", who: ADMIN, ok: 200, answer: object({ hidden: { type: 'array', items: { type: 'object' } } }, ['hidden']) },
  hideImage: { summary: "Stop offering another instance's image here", who: ADMIN, ok: 200, answer: { type: 'object' }, request: object({ reason: string }) },
  unhideImage: { summary: 'Offer a hidden image again', who: ADMIN, ok: 200, answer: { type: 'object' } },
  listStores: { summary: "The stores' names and types (no settings), and the default", who: 'signed-in accounts', ok: 200, answer: ref('StoreListing') },
  collectStoreGarbage: { summary: "Remove crashed writes' leftovers from a store", who: ADMIN, ok: 200, answer: { type: 'object' }, request: object({ dry_run: { type: 'boolean' }, older_than_seconds: integer, unreferenced: { type: 'boolean' } }) },
  health: { summary: 'Status and each store (admins also get paths, invalid files, commits and writes); 503 when a store fails', ok: 200, answer: ref('Health'), alsoOk: { 503: 'degraded: the same report' } },
  metrics: { summary: "Prometheus metrics, text format", who: ADMIN, ok: 200, answer: 'text' },
  openApi: { summary: 'This document: the API described in OpenAPI 3.1', ok: 200, answer: { type: 'object' } },
} satisfies Record<RouteName, RouteDoc>;

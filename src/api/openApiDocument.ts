import imageSchemaDocument from 'visor/catalog-schema/image.schema.json' with { type: 'json' };
import { BRIEF_FIELDS } from './ImageRecord.ts';
import { ROUTE_DOCS, type JsonSchema, type RouteDoc } from './routeDocs.ts';
import { ROUTES, type Route, type RouteName } from './routes.ts';
import { VISOR_VERSION } from './visorVersion.ts';

const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

/** The OpenAPI path of a route-table pattern: `:id` and `{*path}` become `{id}` and `{path}`. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/\{\*(\w+)\}/g, '{$1}').replace(/:(\w+)/g, '{$1}');
}

function pathParameters(route: Route): JsonSchema[] {
  const names = [...route.path.matchAll(/:(\w+)|\{\*(\w+)\}/g)].map((m) => ({ name: (m[1] ?? m[2])!, rest: m[2] !== undefined }));
  return names.map(({ name, rest }) => ({
    name,
    in: 'path',
    required: true,
    ...(rest ? { description: 'the rest of the path, slashes included' } : {}),
    schema: name === 'id' ? { type: 'string', pattern: UUID_PATTERN } : { type: 'string' },
  }));
}

function content(body: RouteDoc['answer']): JsonSchema | undefined {
  if (body === 'empty' || body === 'redirect') return undefined;
  if (body === 'bytes') return { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
  if (body === 'text') return { 'text/plain': { schema: { type: 'string' } } };
  return { 'application/json': { schema: body } };
}

function operation(name: RouteName, route: Route, doc: RouteDoc): JsonSchema {
  const answer = content(doc.answer);
  const responses: Record<string, JsonSchema> = {
    [String(doc.ok)]: { description: doc.ok === 302 ? 'redirect (Location)' : 'success', ...(answer ? { content: answer } : {}) },
  };
  for (const [status, description] of Object.entries(doc.alsoOk ?? {})) responses[status] = { description, ...(answer && status !== '304' ? { content: answer } : {}) };
  // Every error, from every route, has the one shape (the status says which kind).
  responses['default'] = { description: 'an error: its status and code say which (see the README)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  const parameters = [...pathParameters(route), ...(doc.query ?? []).map((q) => (q.name === 'filters' ? { ...q, in: 'query', style: 'form', explode: true } : { ...q, in: 'query' }))];
  const request = doc.request;
  return {
    operationId: name,
    summary: doc.summary,
    ...(doc.who !== undefined ? { description: `For ${doc.who}.` } : {}),
    tags: [route.path.split('/')[1]!.replace(/\..*$/, '')],
    'x-visor-audit-action': route.action,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(request !== undefined
      ? { requestBody: { required: true, content: request['contentMediaType'] === 'application/octet-stream' ? { 'application/octet-stream': { schema: request } } : { 'application/json': { schema: request } } } }
      : {}),
    responses,
  };
}

/** The image record schema's properties, for the schemas derived from it. */
function imageProperties(): Record<string, JsonSchema> {
  return (imageSchemaDocument as { properties: Record<string, JsonSchema> }).properties;
}

function components(): Record<string, JsonSchema> {
  // Its $id stays: any reference inside it keeps resolving against the schema itself.
  const { $schema: _schema, ...image } = imageSchemaDocument as JsonSchema;
  const properties = imageProperties();
  const writable = Object.fromEntries(Object.entries(properties).filter(([, p]) => p['readOnly'] !== true));
  const problem = { type: 'object', required: ['field', 'rule', 'expected', 'message'], properties: { field: { type: 'string' }, rule: { type: 'string' }, expected: { type: 'string' }, message: { type: 'string' } } };
  const page = (item: string) => ({ type: 'object', required: ['images'], additionalProperties: false, properties: { images: { type: 'array', items: { $ref: `#/components/schemas/${item}` } }, next: { type: 'string', description: 'the next page (absent on the last)' } } });
  const user = { type: 'object', required: ['name', 'role', 'disabled', 'groups', 'key_id', 'key_created_at', 'created_at'], properties: { name: { type: 'string' }, role: { enum: ['admin', 'user', 'sync'] }, disabled: { type: 'boolean' }, groups: { type: 'array', items: { type: 'string' } }, key_id: { type: 'string' }, key_created_at: { type: 'string', format: 'date-time' }, created_at: { type: 'string', format: 'date-time' } } };
  const permissions = { type: 'object', additionalProperties: { enum: ['checkout', 'commit'] } };
  return {
    Image: image,
    ImageBrief: {
      description: 'The brief fields of an image record (GET /images).',
      type: 'object',
      additionalProperties: false,
      required: ['id', 'uri', 'name', 'access', 'status'],
      properties: Object.fromEntries(BRIEF_FIELDS.map((f) => [f, properties[f]!])),
    },
    ImageInput: { description: 'Fields a client may set when registering an image (the read-write fields of Image).', type: 'object', additionalProperties: false, required: ['name'], properties: writable },
    ImagePatch: {
      description: 'Fields to change; null removes an optional field.',
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries(Object.entries(writable).map(([f, p]) => [f, { anyOf: [p, { type: 'null' }] }])),
    },
    ImagePage: page('Image'),
    ImageBriefPage: page('ImageBrief'),
    Error: {
      type: 'object',
      required: ['error'],
      additionalProperties: false,
      properties: {
        error: {
          type: 'object',
          required: ['code', 'message'],
          additionalProperties: false,
          properties: { code: { type: 'string', description: 'invalid, unauthenticated, forbidden, not_found, conflict, …' }, message: { type: 'string' }, problems: { type: 'array', items: problem }, details: {} },
        },
      },
    },
    HistoryEntry: {
      type: 'object',
      required: ['commit', 'catalog', 'author', 'date', 'message', 'change', 'fields'],
      properties: {
        commit: { type: 'string' },
        catalog: { enum: ['shared', 'private'] },
        author: { type: 'string' },
        date: { type: 'string' },
        message: { type: 'string' },
        change: { enum: ['created', 'updated', 'deleted'] },
        fields: { type: 'array', items: { type: 'object', required: ['field'], properties: { field: { type: 'string' }, old: {}, new: {} } } },
      },
    },
    User: user,
    IssuedKey: { type: 'object', required: ['user', 'key'], properties: { user: { $ref: '#/components/schemas/User' }, key: { type: 'string', description: 'the API key, shown in this answer only' } } },
    Group: { type: 'object', required: ['name', 'members', 'created_at'], properties: { name: { type: 'string' }, members: { type: 'array', items: { type: 'string' } }, created_at: { type: 'string', format: 'date-time' } } },
    ImageGrants: { type: 'object', required: ['image', 'owner', 'access', 'users', 'groups'], properties: { image: { type: 'string' }, owner: { type: 'string' }, access: { enum: ['public', 'private'] }, users: permissions, groups: permissions } },
    StoreListing: { type: 'object', required: ['default', 'stores'], properties: { default: { type: 'string' }, stores: { type: 'array', items: { type: 'object', required: ['name', 'type', 'writable'], properties: { name: { type: 'string' }, type: { type: 'string' }, writable: { type: 'boolean' } } } } } },
    Health: {
      type: 'object',
      required: ['status', 'catalog', 'stores'],
      properties: {
        status: { enum: ['ok', 'degraded'] },
        catalog: { type: 'object', required: ['images'], properties: { head: { type: 'string' }, images: { type: 'integer', minimum: 0 } } },
        stores: { type: 'object', additionalProperties: { type: 'object', required: ['type', 'ok'], properties: { type: { type: 'string' }, ok: { type: 'boolean' }, detail: { type: 'string' } } } },
      },
    },
  };
}

/**
 * The REST API in OpenAPI 3.1 (GET /openapi.json), built from the one route table and the image record
 * schema: a route added there is in this document, with the record's fields as the catalogue has them.
 */
export function openApiDocument(): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(ROUTES) as Array<[RouteName, Route]>) {
    const path = openApiPath(route.path);
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(name, route, ROUTE_DOCS[name]);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'VISOR',
      version: VISOR_VERSION,
      description: 'A virtual-machine image service whose catalogue is a Git repository. Reads of public images need no key; writes and private images need `Authorization: Bearer visor_<key id>_<secret>`. Every answer carries X-Request-Id, its audit entry\'s id.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    // Anonymous calls are allowed wherever the route says nothing else.
    security: [{}, { apiKey: [] }],
    paths,
    components: {
      schemas: components(),
      securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'An API key, visor_<key id>_<secret>' } },
    },
  };
}

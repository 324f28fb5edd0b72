/**
 * Answers checked against the daemon's own API document (GET /openapi.json): the operation is found
 * by the route table, as the daemon finds it, and the answer's JSON validated against the schema the
 * document gives its status (or its default, the error shape).
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiPath } from '../../src/api/openApiDocument.ts';
import { ROUTES, routeMatcher, type Route } from '../../src/api/routes.ts';

const DOCUMENT_ID = 'https://visor.test/openapi.json';
const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');
const matchers = Object.values(ROUTES).map((route: Route) => ({ route, match: routeMatcher(route) }));

type Responses = Record<string, { content?: Record<string, unknown> }>;

/** The route table's route for a request, or undefined (Glance's, the web's, git's, or no route). */
function routeOf(method: string, path: string): Route | undefined {
  const bare = path.split('?')[0]!;
  // The route with the fewest parameters wins, as in the router: /images/detail before /images/:id.
  const params = (route: Route) => route.path.split(':').length;
  return matchers.filter((m) => m.route.method === (method === 'HEAD' ? 'GET' : method) && m.match(bare) !== undefined).sort((a, b) => params(a.route) - params(b.route))[0]?.route;
}

export class ApiDocument {
  readonly document: Record<string, unknown>;
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(document: Record<string, unknown>) {
    this.document = document;
    addFormats.default(this.ajv);
    this.ajv.addSchema({ ...document, $id: DOCUMENT_ID });
  }

  /** Where the document describes this answer's JSON body: undefined for a request outside the route table or an answer it gives none. */
  private bodyOf(method: string, path: string, status: number): { route: Route; key: string; json: boolean } | undefined {
    const route = routeOf(method, path);
    if (route === undefined) return undefined;
    const responses = (this.document['paths'] as Record<string, Record<string, { responses: Responses }>>)[openApiPath(route.path)]![route.method.toLowerCase()]!.responses;
    const key = String(status) in responses ? String(status) : 'default';
    return { route, key, json: responses[key]!.content?.['application/json'] !== undefined };
  }

  /** Whether the document gives this answer a JSON body (errors always have one). */
  describesJson(method: string, path: string, status: number): boolean {
    return this.bodyOf(method, path, status)?.json === true;
  }

  /** What is wrong with an answer, by the document; [] when it matches. Throws for a request no route takes. */
  problems(method: string, path: string, status: number, body: unknown): string[] {
    const bare = path.split('?')[0]!;
    const found = this.bodyOf(method, path, status);
    if (found === undefined) throw new Error(`no route for ${method} ${bare}`);
    if (!found.json) return [`${method} ${bare}: the document gives ${status} no JSON body`];
    const ref = `${DOCUMENT_ID}#/${pointer('paths', openApiPath(found.route.path), found.route.method.toLowerCase(), 'responses', found.key, 'content', 'application/json', 'schema')}`;
    let validate = this.compiled.get(ref);
    if (validate === undefined) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    return validate(body) ? [] : (validate.errors ?? []).map((e) => `${method} ${bare} ${status}: ${e.instancePath || '(body)'} ${e.message ?? ''}`);
  }
}

let shared: ApiDocument | undefined;

/** The document the daemon serves, built in this process from the same code. */
export async function apiDocument(): Promise<ApiDocument> {
  if (shared === undefined) {
    const { openApiDocument } = await import('../../src/api/openApiDocument.ts');
    shared = new ApiDocument(openApiDocument());
  }
  return shared;
}

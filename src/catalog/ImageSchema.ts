import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import { invalid, type FieldProblem } from '../errors/VisorError.ts';
import type { ImageRecord } from '../api/ImageRecord.ts';
// The schema as ajv compiles it, compiled ahead (src/catalog/ImageRecordCheckSource.ts).
import { validate as compiledCheck } from './ImageRecordCheck.generated.ts';
// Imported, not read from a path at run time: the vendored CI checker (a single bundled file) carries it inside.
import imageSchemaDocument from 'visor/catalog-schema/image.schema.json' with { type: 'json' };

interface PropertySchema {
  readOnly?: boolean;
  enum?: unknown[];
  type?: string;
  format?: string;
}

interface RecordSchema {
  properties: Record<string, PropertySchema>;
  required: string[];
}

/**
 * The image record schema (catalog-schema/image.schema.json), compiled ahead of time. Validation
 * errors come back as FieldProblems naming the field, the rule and what was expected.
 */
export class ImageSchema {
  readonly schema: RecordSchema;
  readonly readOnlyFields: ReadonlySet<string>;
  readonly fields: ReadonlySet<string>;
  private readonly check: ValidateFunction;

  constructor() {
    // A copy: the imported document is one object shared by every importer.
    this.schema = structuredClone(imageSchemaDocument) as unknown as RecordSchema;
    this.check = compiledCheck as unknown as ValidateFunction;
    const entries = Object.entries(this.schema.properties);
    this.fields = new Set(entries.map(([name]) => name));
    this.readOnlyFields = new Set(entries.filter(([, p]) => p.readOnly === true).map(([name]) => name));
  }

  /** The type a field holds, for parsing query strings ('integer', 'string', 'array', ...). */
  fieldType(field: string): string | undefined {
    const p = this.schema.properties[field];
    if (!p) return undefined;
    if (p.enum) return 'string';
    return p.type;
  }

  isDateField(field: string): boolean {
    return this.schema.properties[field]?.format === 'date-time';
  }

  problems(candidate: unknown): FieldProblem[] {
    if (this.check(candidate)) return [];
    // A bad key under propertyNames reports twice; keep the propertyNames error, which names the key.
    return (this.check.errors ?? []).filter((e) => e.propertyName === undefined).map(describe);
  }

  /** Throws an 'invalid' VisorError listing every problem of a record. */
  assertValid(candidate: unknown, context = 'image record'): asserts candidate is ImageRecord {
    const problems = this.problems(candidate);
    if (problems.length > 0) {
      throw invalid(`${context} is invalid: ${problems.map((p) => p.message).join('; ')}`, problems);
    }
  }
}

function fieldOf(error: ErrorObject): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'required') path.push(String(params['missingProperty']));
  if (error.keyword === 'additionalProperties') path.push(String(params['additionalProperty']));
  if (error.keyword === 'propertyNames') path.push(String(params['propertyName']));
  return path.length === 0 ? '(record)' : path.join('.');
}

function expectation(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'enum':
      return `one of ${(p['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'type':
      return `a value of type ${String(p['type'])}`;
    case 'required':
      return 'a value (the field is required)';
    case 'additionalProperties':
      return 'no such field (unknown fields belong in "properties")';
    case 'pattern':
      return `a string matching ${String(p['pattern'])}`;
    case 'format':
      return `a string in ${String(p['format'])} format`;
    case 'maxLength':
      return `at most ${String(p['limit'])} characters`;
    case 'minLength':
      return `at least ${String(p['limit'])} character(s)`;
    case 'maximum':
      return `a number no greater than ${String(p['limit'])}`;
    case 'minimum':
      return `a number no less than ${String(p['limit'])}`;
    case 'maxItems':
      return `at most ${String(p['limit'])} items`;
    case 'maxProperties':
      return `at most ${String(p['limit'])} properties`;
    case 'uniqueItems':
      return 'items without duplicates';
    case 'propertyNames':
      return 'a key matching ^[A-Za-z0-9_.:-]{1,128}$';
    default:
      return error.message ?? error.keyword;
  }
}

function describe(error: ErrorObject): FieldProblem {
  const field = fieldOf(error);
  const expected = expectation(error);
  return { field, rule: error.keyword, expected, message: `${field}: expected ${expected}` };
}

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface SchemaProperty {
  type?: string;
  enum?: unknown[];
  readOnly?: boolean;
}

export type FieldType = 'string' | 'integer' | 'array' | 'object';

/**
 * Field types from the published record schema, so `update` parses `min_ram=512` as a number and
 * `tags=a,b` as a list. The JSON is read directly rather than through ImageSchema, which compiles the
 * validator and would slow every CLI start for nothing.
 */
export class ImageFieldTypes {
  private readonly properties: Record<string, SchemaProperty>;

  constructor() {
    const path = createRequire(import.meta.url).resolve('visor/catalog-schema/image.schema.json');
    this.properties = (JSON.parse(readFileSync(path, 'utf8')) as { properties: Record<string, SchemaProperty> }).properties;
  }

  typeOf(field: string): FieldType | undefined {
    const property = this.properties[field];
    if (!property) return undefined;
    if (property.enum || property.type === undefined) return 'string';
    return property.type as FieldType;
  }

  isReadOnly(field: string): boolean {
    return this.properties[field]?.readOnly === true;
  }

  writableFields(): string[] {
    return Object.keys(this.properties).filter((field) => !this.isReadOnly(field));
  }
}

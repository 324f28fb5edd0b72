import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { _ } from 'ajv/dist/compile/codegen/index.js';
import standaloneModule from 'ajv/dist/standalone/index.js';
import addFormatsModule from 'ajv-formats';
import imageSchemaDocument from 'visor/catalog-schema/image.schema.json' with { type: 'json' };

// CommonJS modules; their default exports arrive wrapped under nodenext.
const standaloneCode = (standaloneModule as unknown as { default: (ajv: Ajv2020, validate: unknown) => string }).default;
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Where the compiled check lives, beside ImageSchema, which imports it. */
export const IMAGE_RECORD_CHECK_FILE = fileURLToPath(new URL('./ImageRecordCheck.generated.ts', import.meta.url));

/** What the generated module's free names stand for, declared at its top. */
const HEADER = `// @ts-nocheck
// Generated from catalog-schema/image.schema.json by src/catalog/ImageRecordCheckSource.ts
// (\`npm run generate\`); do not edit. test/imageSchema.test.ts fails when it is out of date.
// The schema compiled ahead, not at each start: ajv's load and compile were ~200 ms of every
// process that checks records (each thread of a first start's scan, every hook and CLI check).
import ucs2lengthModule from 'ajv/dist/runtime/ucs2length.js';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isDateTime } from './DateTimeFormat.ts';
const formats = { ...fullFormats, 'date-time': isDateTime };
`;

/**
 * The image record check as ajv compiles it, with the options, formats and date-time rule
 * ImageSchema has always used, written out as a module (ajv's standalone code).
 */
export function imageRecordCheckSource(): string {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, code: { source: true, esm: true, formats: _`formats` } });
  addFormats(ajv);
  // The function is never called here: only its name reaches the code, which refers to `formats`.
  ajv.addFormat('date-time', () => true);
  const code = standaloneCode(ajv, ajv.compile(structuredClone(imageSchemaDocument)))
    .replace(/^"use strict";/, '')
    .replaceAll('require("ajv/dist/runtime/ucs2length")', 'ucs2lengthModule');
  const left = /require\(([^)]*)\)/.exec(code);
  if (left) throw new Error(`the compiled check needs ${left[1]}, which ImageRecordCheckSource does not import: add it to its header`);
  return `${HEADER}${code}\n`;
}

if (import.meta.main) await writeFile(IMAGE_RECORD_CHECK_FILE, imageRecordCheckSource());

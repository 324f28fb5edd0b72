import test from 'ava';
import { readFile } from 'node:fs/promises';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { IMAGE_RECORD_CHECK_FILE, imageRecordCheckSource } from '../src/catalog/ImageRecordCheckSource.ts';
import { imageRecord } from './helpers/gitRepos.ts';

test('the compiled record check is the current schema, compiled as ImageSchema always has (npm run generate rewrites it)', async (t) => {
  t.is(await readFile(IMAGE_RECORD_CHECK_FILE, 'utf8'), imageRecordCheckSource(), 'catalog-schema/image.schema.json changed: run `npm run generate` and commit the result');
});

test('records are judged by the compiled check: field, rule and expectation, with the catalogue\'s own date-time rule and length in characters', (t) => {
  const schema = new ImageSchema();
  t.deepEqual(schema.problems(imageRecord()), []);
  // 2027 is no leap year; the shortcut in DateTimeFormat must not wave it through.
  const [problem] = schema.problems(imageRecord({ created_at: '2027-02-29T10:00:00Z' }));
  t.like(problem, { field: 'created_at', rule: 'format' });
  // 255 characters of two bytes each are 510 bytes, and allowed: the limit counts characters.
  t.deepEqual(schema.problems(imageRecord({ name: '\u00e9'.repeat(255) })), []);
  t.like(schema.problems(imageRecord({ name: '\u00e9'.repeat(256) }))[0], { field: 'name', rule: 'maxLength' });
  t.like(schema.problems(imageRecord({ uri: 'not a uri' }))[0], { field: 'uri', rule: 'format' });
});

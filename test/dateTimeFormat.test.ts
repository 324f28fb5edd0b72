import test from 'ava';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isDateTime } from '../src/catalog/DateTimeFormat.ts';
import { ImageSchema } from '../src/catalog/ImageSchema.ts';
import { prng } from './bench/seededRandom.ts';

const format = fullFormats['date-time'];
const rfc3339 = (typeof format === 'object' && 'validate' in format ? format.validate : format) as (s: string) => boolean;

const CASES: Array<[string, boolean]> = [
  ['2026-11-22T10:00:00.000Z', true],
  ['2026-11-22T10:00:00Z', true],
  ['2026-11-22T23:59:59.123456789Z', true],
  ['2024-02-29T00:00:00Z', true],
  ['2000-02-29T00:00:00Z', true],
  ['1900-02-29T00:00:00Z', false],
  ['2023-02-29T00:00:00Z', false],
  ['2026-04-31T00:00:00Z', false],
  ['2026-13-01T00:00:00Z', false],
  ['2026-00-10T00:00:00Z', false],
  ['2026-01-00T00:00:00Z', false],
  ['2026-01-01T24:00:00Z', false],
  ['2026-01-01T10:60:00Z', false],
  ['2026-01-01T10:00:60Z', false],
  ['2026-12-31T23:59:60Z', true],
  ['2026-01-01T10:00:00.Z', false],
  ['2026-01-01T10:00:00.1aZ', false],
  ['2026-01-01T10:00:00', false],
  ['2026-01-01 10:00:00Z', true],
  ['2026-01-01t10:00:00z', true],
  ['2026-01-01T10:00:00+02:00', true],
  ['2026-01-01T10:00:00-25:00', false],
  ['2026-1-01T10:00:00Z', false],
  ['2O26-01-01T10:00:00Z', false],
  ['2026-01-01T1O:00:00Z', false],
  ['', false],
];

test('date-time accepts exactly what RFC 3339 allows: real calendar days, leap years and seconds, offsets', (t) => {
  for (const [text, valid] of CASES) t.is(isDateTime(text), valid, text);
});

test('date-time agrees with the general RFC 3339 check on every variation of the daemon-written form', (t) => {
  const random = prng(7);
  const chars = '0123456789-:.TZtz +';
  for (let i = 0; i < 20_000; i++) {
    const base = new Date(Math.floor(random() * 8e12)).toISOString().split('');
    // One or two characters replaced: most results are near misses of the fast form.
    for (let k = random() < 0.5 ? 1 : 2; k > 0; k--) base[Math.floor(random() * base.length)] = chars[Math.floor(random() * chars.length)]!;
    const text = base.join('');
    t.is(isDateTime(text), rfc3339(text), text);
  }
});

test('an image record with an impossible date names the field and the expected format', (t) => {
  const problems = new ImageSchema().problems({ id: '3f2b6c1e-9a4d-4e8b-b1f7-0c2d5e6f7a8b', name: 'n', status: 'locked', access: 'public', owner: 'o', created_at: '2026-02-30T00:00:00Z', updated_at: '2026-02-01T00:00:00Z' });
  t.deepEqual(
    problems.map((p) => [p.field, p.rule, p.expected]),
    [['created_at', 'format', 'a string in date-time format']],
  );
});

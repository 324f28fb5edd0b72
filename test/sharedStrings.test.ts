import test from 'ava';
import { shareRepeatedStrings } from '../src/catalog/SharedStrings.ts';
import type { ImageRecord } from '../src/api/ImageRecord.ts';
import { imageRecord } from './helpers/gitRepos.ts';

const parsed = (record: Record<string, unknown>): ImageRecord => JSON.parse(JSON.stringify(record)) as ImageRecord;

test('sharing repeated strings leaves every value of a record as it was parsed', (t) => {
  const written = imageRecord({
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    uploaded_at: '2026-01-01T00:00:00.000Z',
    store: 'fs',
    tags: ['a', 'b'],
  });
  const withKeys = { ...written, locations: [{ store: 'fs', key: written.id }, { store: 's3', key: `other/${written.id}` }] };
  const record = parsed(withKeys);
  t.is(shareRepeatedStrings(record), record);
  t.deepEqual(record, parsed(withKeys));
});

test('dates that differ stay as they are, and a record without locations or upload date is left alone', (t) => {
  const written = imageRecord({ created_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-02-01T00:00:00.000Z', uploaded_at: '2026-02-01T00:00:00.000Z' });
  const record = shareRepeatedStrings(parsed(written));
  t.deepEqual(record, parsed(written));
  const bare = imageRecord();
  delete bare['locations'];
  t.deepEqual(shareRepeatedStrings(parsed(bare)), parsed(bare));
});

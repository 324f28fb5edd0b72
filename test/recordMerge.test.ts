import test from 'ava';
import { mergeRecords } from '../src/catalog/RecordMerge.ts';

const base = { id: 'x', name: 'a', min_ram: 1, tags: ['one', 'two'], properties: { k: 'v' }, updated_at: '2026-01-01T00:00:00.000Z', checksum: 'sha256:aa' };

test('fields changed on one side only take that change', (t) => {
  const r = mergeRecords(base, { ...base, name: 'b' }, { ...base, min_ram: 2 });
  t.true(r.clean);
  t.is(r.merged['name'], 'b');
  t.is(r.merged['min_ram'], 2);
});

test('updated_at takes the later time; tags merge as sets; properties key by key', (t) => {
  const r = mergeRecords(
    base,
    { ...base, tags: ['one', 'two', 'three'], properties: { k: 'v', a: '1' }, updated_at: '2026-02-01T00:00:00.000Z' },
    { ...base, tags: ['two', 'four'], properties: { k: 'w' }, updated_at: '2026-03-01T00:00:00.000Z' },
  );
  t.true(r.clean);
  t.deepEqual(r.merged['tags'], ['two', 'three', 'four']);
  t.deepEqual(r.merged['properties'], { k: 'w', a: '1' });
  t.is(r.merged['updated_at'], '2026-03-01T00:00:00.000Z');
});

test('a field changed differently on both sides is a conflict, resolved only by an explicit preference', (t) => {
  const none = mergeRecords(base, { ...base, name: 'ours' }, { ...base, name: 'theirs' });
  t.false(none.clean);
  t.deepEqual(none.conflicts, [{ field: 'name', base: 'a', ours: 'ours', theirs: 'theirs' }]);
  const theirs = mergeRecords(base, { ...base, name: 'ours' }, { ...base, name: 'theirs' }, 'theirs');
  t.true(theirs.clean);
  t.is(theirs.merged['name'], 'theirs');
  t.is(theirs.conflicts[0]?.kept, 'theirs', 'the resolved conflict is still reported');
});

test('immutable facts never merge automatically', (t) => {
  const r = mergeRecords(base, { ...base, checksum: 'sha256:bb' }, { ...base, checksum: 'sha256:cc' }, 'theirs');
  t.false(r.clean);
  t.is(r.conflicts[0]?.field, 'checksum');
});

test('a field removed on one side and untouched on the other is removed', (t) => {
  const { min_ram: _, ...without } = base;
  const r = mergeRecords(base, without, base);
  t.false('min_ram' in r.merged);
});

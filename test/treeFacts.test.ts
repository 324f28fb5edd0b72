import test from 'ava';
import { randomUUID } from 'node:crypto';
import { TreeFacts } from '../src/catalog/TreeFacts.ts';
import { recordFile } from './helpers/gitRepos.ts';

test('tree facts follow files added, replaced and deleted: series names, references, case twins', (t) => {
  const [a, b, k] = [randomUUID(), randomUUID(), randomUUID()];
  const tree = new TreeFacts(new Map([[recordFile(a), '1'], ['README.md', '2']]), new Map([[recordFile(a), { id: a, name: 'noble', series: 'ubuntu', owner: 'pat', kernel: k }]]));
  t.deepEqual(tree.namesakes('ubuntu', 'pat', 'noble'), [a]);
  t.deepEqual(tree.namesakes('ubuntu', 'eve', 'noble'), [], "a series is a namespace per owner: another owner's name is not taken");
  t.deepEqual(tree.referrersOf(k), [{ id: a, as: 'kernel' }]);

  tree.set(recordFile(b), '3', { id: b, name: 'noble', series: 'ubuntu', owner: 'pat' });
  t.deepEqual(tree.namesakes('ubuntu', 'pat', 'noble').sort(), [a, b].sort());
  tree.set(recordFile(a), '4', { id: a, name: 'jammy', series: 'ubuntu', owner: 'pat' });
  t.deepEqual(tree.namesakes('ubuntu', 'pat', 'noble'), [b], 'a replaced record leaves its old name');
  t.deepEqual(tree.referrersOf(k), [], 'and its old references');

  tree.set('readme.md', '5', undefined);
  tree.set('Readme.MD', '6', undefined);
  t.deepEqual(tree.caseTwins('readme.md').sort(), ['README.md', 'Readme.MD'].sort());
  tree.delete('README.md');
  t.deepEqual(tree.caseTwins('Readme.MD'), ['readme.md']);
  tree.delete('readme.md');
  t.deepEqual(tree.caseTwins('Readme.MD'), []);
  tree.delete(recordFile(b));
  t.deepEqual(tree.namesakes('ubuntu', 'pat', 'noble'), []);
  t.false(tree.entries.has(recordFile(b)));
});

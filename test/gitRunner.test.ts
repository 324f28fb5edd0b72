import test from 'ava';
import { GitError, GitRunner } from '../src/git/GitRunner.ts';
import { tempDir } from './helpers/gitRepos.ts';

test('a sequence of git commands hands every argument to git as it is, shell characters and all', async (t) => {
  const git = new GitRunner(await tempDir('visor-seq-'));
  const odd = `it's "$HOME" \`id\` $(id) ; rm -rf x && echo ${'${1}'} \\ end`;
  await git.runSequence([
    ['init', '-q'],
    ['config', 'visor.odd', odd],
    ['config', 'visor.spaces', '  two  spaces  '],
  ]);
  t.is((await git.run(['config', '--get', 'visor.odd'])).stdout, `${odd}\n`);
  t.is((await git.run(['config', '--get', 'visor.spaces'])).stdout, '  two  spaces  \n');
});

test('a sequence stops at the first command that fails and reports it', async (t) => {
  const git = new GitRunner(await tempDir('visor-seq-fail-'));
  const error = await t.throwsAsync(git.runSequence([['init', '-q'], ['rev-parse', '--verify', 'no-such-ref'], ['config', 'visor.after', 'yes']]));
  t.true(error instanceof GitError);
  t.regex(error!.message, /rev-parse --verify no-such-ref/);
  await t.throwsAsync(git.run(['config', '--get', 'visor.after']), { instanceOf: GitError });
});

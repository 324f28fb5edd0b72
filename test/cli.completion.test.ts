/**
 * `visor completion bash|zsh` prints a script made from the program's own commands and options: a
 * real bash sources it, registers it for `visor`, and completes commands, subcommands and options
 * as a user pressing Tab would get them (COMP_WORDS / COMP_CWORD, as bash sets them).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVisor } from './helpers/cli.ts';

/** What the completion offers for the words typed so far (the last one being completed). */
function complete(script: string, words: readonly string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const run = spawnSync('bash', ['--norc', '--noprofile', '-c', `source "$0" && complete -p visor && COMP_WORDS=(${quoted}) && COMP_CWORD=${words.length - 1} && _visor && printf '%s\\n' "\${COMPREPLY[@]}"`, script], {
    encoding: 'utf8',
    timeout: 10_000,
    env: { PATH: process.env['PATH'] ?? '' },
  });
  if (run.status !== 0) throw new Error(`bash failed (${String(run.status)}): ${run.stderr}`);
  const [registration = '', ...offered] = run.stdout.split('\n').filter((line) => line !== '');
  if (!/complete .*-F _visor visor$/.test(registration)) throw new Error(`not registered for visor: ${registration}`);
  return offered;
}

test('the bash script completes commands, subcommands and their options', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'visor-completion-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const run = await runVisor(['completion', 'bash']);
  t.is(run.code, 0, run.stderr);
  const script = join(dir, 'visor.bash');
  await writeFile(script, run.stdout);

  t.deepEqual(complete(script, ['visor', 'cat']), ['catalog']);
  t.deepEqual(complete(script, ['visor', 'catalog', 'in']), ['init', 'install-hooks']);
  // A subcommand's own options, and the global ones, which apply everywhere.
  const userAdd = complete(script, ['visor', 'user', 'add', '--']);
  for (const option of ['--admin', '--sync', '--group', '--url', '--token', '--json', '--help']) t.true(userAdd.includes(option), `${option} in ${userAdd.join(' ')}`);
  // An option's value is not taken for a command name.
  t.deepEqual(complete(script, ['visor', '--url', 'user', 'lo']), ['login', 'logout']);
  t.deepEqual(complete(script, ['visor', '--json', 'user', 'rot']), ['rotate-key']);
  // The value of an option is left to the shell (file names), not offered commands.
  t.deepEqual(complete(script, ['visor', 'add', '--file', '']), []);
});

test('the zsh script parses (zsh -n) and completes in zsh, when zsh is installed', async (t) => {
  const run = await runVisor(['completion', 'zsh']);
  t.is(run.code, 0, run.stderr);
  t.regex(run.stdout, /^#compdef visor/);
  const zsh = spawnSync('zsh', ['-n'], { input: run.stdout, encoding: 'utf8', timeout: 10_000 });
  if (zsh.error !== undefined) {
    t.log('zsh is not installed: its checks are skipped');
    return;
  }
  t.is(zsh.status, 0, zsh.stderr);
  const script = 'autoload -U compinit && compinit -u -D; eval "$(cat)"; COMP_WORDS=(visor --url x user add --); COMP_CWORD=5; _visor; print -r -- "${COMPREPLY[@]}"';
  const completed = spawnSync('zsh', ['-f', '-c', script], { input: run.stdout, encoding: 'utf8', timeout: 10_000, env: { PATH: process.env['PATH'] ?? '' } });
  // zsh's compgen offers all candidates and zsh itself then matches them against what was typed.
  const offered = completed.stdout.trim().split(' ');
  for (const option of ['--admin', '--sync', '--group', '--url']) t.true(offered.includes(option), `${option} in ${completed.stdout} ${completed.stderr}`);
  t.false(offered.includes('add'), 'options, not subcommands');
});

test('an unknown shell is a usage error naming the choices', async (t) => {
  const run = await runVisor(['completion', 'fish']);
  t.is(run.code, 2);
  t.regex(run.stderr, /bash, zsh/);
});

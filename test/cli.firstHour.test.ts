/**
 * What a newcomer meets in the CLI's first hour: the version, help pages with the global options and
 * examples, each error said once with a hint where one helps, the exit codes the README lists, a
 * quiet `npx visor`, and a plain message under an older Node.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { startTestDaemon, type TestDaemon } from './helpers/daemon.ts';
import { runVisor, visorAt } from './helpers/cli.ts';
import { awaitAuditEntries } from './helpers/accounts.ts';
import { unique } from './helpers/images.ts';
import { visorProgram } from '../src/cli/program.ts';
import { COMMAND_EXAMPLES } from '../src/cli/commandExamples.ts';
import { EXIT_CODE_MEANINGS } from '../src/cli/ExitCode.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(await readFile(resolve(ROOT, 'package.json'), 'utf8')) as { version: string };
const execFileAsync = promisify(execFile);

/** Runs a program to its end: its exit code and output, whether it succeeded or not. */
async function run(file: string, args: string[], options: { cwd?: string; env: Record<string, string | undefined> }): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, options);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(error) };
  }
}

let daemon: TestDaemon;
test.before(async () => {
  daemon = await startTestDaemon();
});
test.after.always(async () => {
  await daemon?.stop();
});

test('visor --version and -V print the package version', async (t) => {
  for (const flag of ['--version', '-V']) {
    const { code, stdout } = await runVisor([flag]);
    t.is(code, 0);
    t.is(stdout.trim(), version);
  }
});

/** Every command of the `visor` program (serve included), by its path: `add`, `user add`… */
async function everyCommand(): Promise<Map<string, Command>> {
  const { program } = await visorProgram([], [{ names: ['serve'], load: async () => (await import('../daemon/serveCommand.ts')).registerServeCommand }]);
  const found = new Map<string, Command>([['', program]]);
  const walk = (command: Command, path: string): void => {
    for (const sub of command.commands) {
      const subPath = path === '' ? sub.name() : `${path} ${sub.name()}`;
      found.set(subPath, sub);
      walk(sub, subPath);
    }
  };
  walk(program, '');
  return found;
}

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => (text += s) });
  command.outputHelp();
  return text;
}

test("every command's help lists the global options and ends with examples of that command", async (t) => {
  const commands = await everyCommand();
  t.true(commands.size > 40, `only ${commands.size} commands found`);
  const missing: string[] = [];
  for (const [path, command] of commands) {
    const help = helpOf(command);
    const examples = help.split('\nExamples:\n')[1];
    if (path !== '' && !/Global Options:[\s\S]*--url <url>[\s\S]*--token <key>[\s\S]*--json/.test(help)) missing.push(`${path}: global options`);
    if (examples === undefined) missing.push(`${path || 'visor'}: examples`);
    // Each example runs the command it illustrates (a help page's examples are of that page's command).
    else if (path !== '' && !examples.split('\n').filter((l) => l.includes('$ ')).every((l) => l.includes(`visor ${path.split(' ')[0]}`) || l.includes('visor --json ' + path.split(' ')[0]) || l.includes('merge-driver'))) {
      missing.push(`${path}: an example of another command`);
    }
  }
  t.deepEqual(missing, []);
  // No examples for commands that do not exist (a renamed command would leave its examples behind).
  t.deepEqual(Object.keys(COMMAND_EXAMPLES).filter((path) => !commands.has(path)), []);

  // As a user runs it:
  const { code, stdout } = await runVisor(['user', 'add', '--help']);
  t.is(code, 0);
  t.regex(stdout, /Global Options:\n\s+--url <url>/);
  t.regex(stdout, /Examples:\n\s+\$ visor user add alice\n/);
});

test('visor piped into a reader that stops early (| head) ends quietly, with no EPIPE trace', async (t) => {
  // `true` reads nothing and exits at once: the help is written into a closed pipe.
  const stderr = join(await mkdtemp(join(tmpdir(), 'visor-epipe-')), 'stderr');
  const shell = await promisify(execFile)('bash', ['-c', `set -o pipefail; "${process.execPath}" "${join(ROOT, 'src/cli/visor.ts')}" verify --help 2>"$1" | true; echo "exit $?"; cat "$1"`, 'sh', stderr]);
  t.is(shell.stdout.split('\n')[0], 'exit 0');
  t.notRegex(shell.stdout, /EPIPE|Unhandled/);
});

test('visor --help lists the exit codes, and the README lists the same ones', async (t) => {
  const { stdout } = await runVisor(['--help']);
  const readme = await readFile(resolve(ROOT, 'README.md'), 'utf8');
  for (const [code, meaning] of EXIT_CODE_MEANINGS) {
    t.true(stdout.includes(`  ${code}  ${meaning}`), `help: ${code}`);
    t.true(readme.includes(`| ${code} | ${meaning} |`), `README: ${code}`);
  }
  // And no other code in the README's table.
  const table = readme.split('| code | meaning |\n|---|---|\n')[1]?.split('\n\n')[0] ?? '';
  t.is(table.trim().split('\n').length, EXIT_CODE_MEANINGS.length);
});

test('a field the daemon refuses is reported once, with its field', async (t) => {
  const { code, stderr } = await visorAt(daemon).run(['add', '--name', unique('x'), '--arch', 'vax']);
  t.is(code, 2);
  const lines = stderr.trim().split('\n');
  t.is(lines.filter((l) => l.includes('vax') || l.includes('architecture')).length, 1, stderr);
});

test('a bad value in an environment variable is reported once, naming the variable', async (t) => {
  // `serve` is the daemon's entry's (src/cli/visor.ts, the helper's, is the CLI alone).
  const daemonRun = await run(process.execPath, [resolve(ROOT, 'daemon/visor.ts'), 'serve'], { env: { PATH: process.env['PATH'], HOME: daemon.dataDir, VISOR_PORT: 'abc' } });
  t.is(daemonRun.code, 2);
  t.is(daemonRun.stderr, 'visor: server.port: VISOR_PORT is "abc", expected an integer from 0 to 65535\n');
});

test('when no daemon answers, the error names the URL tried, where it came from and how to start one', async (t) => {
  // A port nothing listens on: taken, then let go.
  const probe = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => probe.once('listening', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  const url = `http://127.0.0.1:${port}`;
  const { code, stderr } = await runVisor(['list'], { env: { VISOR_URL: url } });
  t.is(code, 1);
  t.regex(stderr, /ECONNREFUSED/);
  t.true(stderr.includes(`no VISOR daemon answers at ${url} (taken from VISOR_URL)`), stderr);
  t.regex(stderr, /visor serve/);
  t.is(stderr.match(/ECONNREFUSED/g)?.length, 1, 'said once');
});

test('a refused key gets a hint on where keys come from', async (t) => {
  // The admin's key with another secret: well formed, and refused.
  const wrong = daemon.token.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'));
  const { code, stderr } = await runVisor(['add', '--name', unique('k')], { env: { VISOR_URL: daemon.url, VISOR_TOKEN: wrong } });
  t.is(code, 5);
  t.true(stderr.includes(`${new URL(daemon.url).origin} refused the key from VISOR_TOKEN`), stderr);
  t.regex(stderr, /visor user add NAME/);
});

test('the CLI introduces itself as visor/<version> (the audit log shows it)', async (t) => {
  const name = unique('agent');
  const { code } = await visorAt(daemon).run(['list', `name=${name}`]);
  t.is(code, 0);
  const [entry] = await awaitAuditEntries(daemon, (e) => e.path.includes(name));
  t.is(entry?.agent, `visor/${version}`);
});

test('npx visor in the checkout prints no EBADENGINE warnings, even when npm runs on an older Node', async (t) => {
  // npm as the machine has it, its own Node first on PATH, with an empty npx cache: npx installs the
  // checkout there to link its bin (scripts off: its prepare would build what npm test has built).
  const home = await mkdtemp(join(tmpdir(), 'visor-npx-home-'));
  try {
    const env = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: home, npm_config_ignore_scripts: 'true', npm_config_update_notifier: 'false' };
    const npx = await run('npx', ['--no-install', 'visor', '--help'], { cwd: ROOT, env });
    t.notRegex(npx.stderr, /EBADENGINE|npm warn/, npx.stderr);
    t.regex(npx.stdout, /Usage: visor/);
  } finally {
    await rm(home, { recursive: true, force: true });
  }
});

test('under a Node older than 24 the installed visor says what it needs instead of crashing', async (t) => {
  // The machine's own Node, when it is an older one (npm test builds dist/, the installed bin).
  const old = (await run('/usr/bin/node', ['--version'], { env: {} })).stdout.trim();
  if (old === '' || Number(old.slice(1).split('.')[0]) >= 24) {
    t.log(`no Node older than 24 at /usr/bin/node (${old || 'none'}): nothing to check`);
    t.pass();
    return;
  }
  const result = await run('/usr/bin/node', [resolve(ROOT, 'dist/daemon/visor.js'), '--version'], { env: { PATH: '/usr/bin:/bin', HOME: daemon.dataDir } });
  t.is(result.code, 1);
  t.regex(result.stderr, /^visor: needs Node\.js 24 or newer, and this is Node\.js 2?\d\./);
  t.notRegex(result.stderr, /SyntaxError/);
});

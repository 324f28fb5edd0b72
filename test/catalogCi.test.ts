/**
 * The CI a catalogue gets from `visor catalog init` runs on a fresh runner: Node, git and the
 * catalogue's own files, nothing of VISOR installed. Each run here takes the commands of the
 * generated GitHub workflow's "Check the catalogue" step and of the GitLab job's script out of the
 * files init wrote, and runs them in a clean clone outside this repository, with a PATH holding
 * only Node 24 and git.
 */
import test from 'ava';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runVisor } from './helpers/cli.ts';
import { git, imageRecord, recordFile, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';
import { installHooks } from '../src/catalog/HookInstaller.ts';
import { updateCiFiles } from '../src/catalog/CatalogRepo.ts';

const REPO = resolve(import.meta.dirname, '..');
const BUILT_CHECKER = join(REPO, 'dist/visor-check.mjs');

/** One catalogue made by `visor catalog init --public`, which each test's forge starts from. */
let template = '';
test.before('the checker is bundled as `npm run build` bundles it, and a catalogue made with it', async () => {
  // The test checks the file init copies, built from the sources under test (not a stale build).
  execFileSync(process.execPath, [join(REPO, 'src/cli/bundleVisorCheck.ts')], { stdio: 'inherit' });
  template = join(await tempDir('visor-ci-template-'), 'catalogue');
  const init = await runVisor(['catalog', 'init', template, '--public']);
  if (init.code !== 0) throw new Error(init.stderr);
});
test.after.always(() => rm(resolve(template, '..'), { recursive: true, force: true }));

/** The block of lines under `key: |` (or a list item `- |`) after the line matching `from`, dedented. */
function literalBlock(yaml: string, from: RegExp, key: RegExp): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => from.test(l));
  if (start < 0) throw new Error(`no line matching ${from} in the workflow`);
  const at = lines.findIndex((l, i) => i > start && key.test(l));
  if (at < 0) throw new Error(`no ${key} after ${from} in the workflow`);
  const indent = (l: string) => l.length - l.trimStart().length;
  const block: string[] = [];
  for (const line of lines.slice(at + 1)) {
    if (line.trim() !== '' && indent(line) <= indent(lines[at]!)) break;
    block.push(line);
  }
  const margin = Math.min(...block.filter((l) => l.trim() !== '').map(indent));
  return block.map((l) => l.slice(margin)).join('\n');
}

/** The GitHub step "Check the catalogue": its script, and its env with `${{ github.X }}` taken from `context`. */
function githubStep(yaml: string, context: Record<string, string>): { script: string; env: Record<string, string> } {
  const step = /- name: Check the catalogue$/;
  const env: Record<string, string> = {};
  for (const line of literalBlock(yaml, step, /^\s+env:$/).split('\n')) {
    const m = /^(\w+): (.*)$/.exec(line.trim());
    if (!m) continue;
    env[m[1]!] = m[2]!.replace(/\$\{\{\s*github\.(\w+)\s*\}\}/g, (_, name: string) => {
      if (!(name in context)) throw new Error(`the workflow reads github.${name}, which this test does not give`);
      return context[name]!;
    });
  }
  return { script: literalBlock(yaml, step, /^\s+run: \|$/), env };
}

/** The GitLab job's script: its one `- |` entry. */
function gitlabScript(yaml: string): string {
  return literalBlock(yaml, /^visor-catalogue:$/, /^\s+- \|$/);
}

interface Forge {
  root: string;
  /** The forge's repository (bare), holding main and the branches of pull requests. */
  remote: string;
  /** A directory with only node (24) and git in it: the runner's PATH. */
  bin: string;
  workflow: string;
  gitlab: string;
  /** Where the runners' checkouts go: a directory of its own, apart from the forge and this repository. */
  runners: string;
  checkouts: number;
}

/** The catalogue `visor catalog init` made, as a bare "forge" repository of its own. */
async function forge(t: { teardown: (f: () => Promise<void>) => void }): Promise<Forge> {
  const root = await tempDir('visor-ci-');
  const runners = await tempDir('visor-ci-runner-');
  t.teardown(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(runners, { recursive: true, force: true });
  });
  const remote = join(root, 'forge.git');
  git(root, 'clone', '-q', '--bare', template, remote);
  const bin = join(root, 'bin');
  await mkdir(bin);
  await symlink(process.execPath, join(bin, 'node'));
  await symlink(realpathSync(execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim()), join(bin, 'git'));
  return {
    root,
    remote,
    bin,
    workflow: await readFile(join(template, '.github/workflows/visor-catalog.yml'), 'utf8'),
    gitlab: await readFile(join(template, '.gitlab-ci.yml'), 'utf8'),
    runners,
    checkouts: 0,
  };
}

/** Pushes a branch off main to the forge holding these records: a pull request. */
async function pullRequest(f: Forge, branch: string, records: Array<Record<string, unknown>>): Promise<void> {
  const work = join(f.root, `author-${branch}`);
  git(f.root, 'clone', '-q', f.remote, work);
  git(work, 'checkout', '-q', '-b', branch);
  for (const r of records) await writeRecordFile(work, r);
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', `add ${records.length} image(s)`);
  git(work, 'push', '-q', 'origin', branch);
}

/**
 * What the runner has before the step: the branch checked out as actions/checkout does (one commit
 * deep, origin the forge), in a fresh directory.
 */
async function checkout(f: Forge, branch: string): Promise<string> {
  const dir = join(f.runners, `${branch}-${++f.checkouts}`);
  git(f.root, 'clone', '-q', '--depth=1', '--branch', branch, `file://${f.remote}`, dir);
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a CI script as the runner's shell would (bash, -e, pipefail), with only the runner's environment. */
function runScript(f: Forge, cwd: string, script: string, env: Record<string, string>): Promise<Run> {
  if (cwd.startsWith(REPO)) throw new Error('the runner must be outside this repository');
  return new Promise((done, fail) => {
    const child = spawn('/bin/bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], {
      cwd,
      // Nothing of VISOR: no NODE_PATH, no node_modules above cwd, PATH only node and git.
      env: { PATH: f.bin, HOME: f.root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const github = (f: Forge, cwd: string, event: { base_ref: string }) => {
  const step = githubStep(f.workflow, event);
  return runScript(f, cwd, step.script, { ...step.env, GITHUB_ACTIONS: 'true', CI: 'true' });
};
const gitlab = (f: Forge, cwd: string, targetBranch?: string) =>
  runScript(f, cwd, gitlabScript(f.gitlab), { GITLAB_CI: 'true', CI: 'true', ...(targetBranch ? { CI_MERGE_REQUEST_TARGET_BRANCH_NAME: targetBranch } : {}) });

test('the generated workflows run nothing that needs VISOR installed or the network: the catalogue carries its checker', async (t) => {
  const f = await forge(t);
  for (const script of [githubStep(f.workflow, { base_ref: '' }).script, gitlabScript(f.gitlab)]) {
    t.notRegex(script, /npx|npm |visor catalog/);
    t.regex(script, /node \.visor\/visor-check\.mjs validate/);
  }
  t.regex(f.workflow, /actions\/setup-node@v4\n\s+with:\n\s+node-version: 24/);
  t.regex(f.workflow, /^permissions:\n {2}contents: read$/m, 'the workflow token may only read');
  // Publishers are told the same command, which the checker test below runs as written.
  t.regex(await readFile(join(template, 'README.md'), 'utf8'), /`node \.visor\/visor-check\.mjs validate --base origin\/main`/);
  t.regex(f.gitlab, /image: node:24/);
  // GitLab makes merge request pipelines, the ones that name a target branch, only for jobs whose rules ask.
  t.regex(f.gitlab, /^ {2}rules:\n {4}- if: \$CI_PIPELINE_SOURCE == "merge_request_event"\n {4}- if: \$CI_COMMIT_BRANCH$/m);
});

test('GitHub: a push checks the whole catalogue and passes', async (t) => {
  const f = await forge(t);
  await pullRequest(f, 'seed', [imageRecord(), imageRecord({ series: 'cirros' })]);
  const dir = await checkout(f, 'seed');
  const run = await github(f, dir, { base_ref: '' });
  t.is(run.code, 0, run.stdout + run.stderr);
  t.regex(run.stdout, /^\.: valid$/m);
});

test('GitHub: a pull request adding a valid record passes', async (t) => {
  const f = await forge(t);
  await pullRequest(f, 'good', [imageRecord()]);
  const run = await github(f, await checkout(f, 'good'), { base_ref: 'main' });
  t.is(run.code, 0, run.stdout + run.stderr);
});

test('GitHub: a pull request adding an invalid record fails with an error annotation on the file', async (t) => {
  const f = await forge(t);
  const bad = imageRecord({ min_disk: -1 });
  // A private record in this public catalogue is refused too, as the server's hook would.
  const secret = imageRecord({ access: 'private' });
  await pullRequest(f, 'bad', [imageRecord(), bad, secret]);
  const run = await github(f, await checkout(f, 'bad'), { base_ref: 'main' });
  t.is(run.code, 1, run.stdout + run.stderr);
  t.regex(run.stdout, new RegExp(`^::error file=${recordFile(bad.id)},title=min_disk \\(minimum\\)::min_disk: expected`, 'm'));
  t.regex(run.stdout, new RegExp(`^::error file=${recordFile(secret.id)},title=access \\(public-catalogue\\)::`, 'm'));
  t.is(run.stdout.trim().split('\n').length, 2, run.stdout);
});

test('GitHub: a file name cannot forge workflow commands of its own in the annotations', async (t) => {
  const f = await forge(t);
  const work = join(f.root, 'author');
  git(f.root, 'clone', '-q', f.remote, work);
  git(work, 'checkout', '-q', '-b', 'hostile');
  await writeFile(join(work, 'a,b:c\n::warning::forged 100%.txt'), 'x');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'a file named to inject');
  git(work, 'push', '-q', 'origin', 'hostile');
  const run = await github(f, await checkout(f, 'hostile'), { base_ref: 'main' });
  t.is(run.code, 1, run.stdout + run.stderr);
  const commands = run.stdout.split('\n').filter((l) => l.startsWith('::'));
  t.true(commands.length > 0);
  for (const line of commands) t.regex(line, /^::error file=a%2Cb%3Ac%0A%3A%3Awarning%3A%3Aforged 100%25\.txt,title=\(path\) \(allowed-path\)::/);
});

test('GitLab: the job checks a push, and a merge request with a valid and with an invalid record', async (t) => {
  const f = await forge(t);
  await pullRequest(f, 'good', [imageRecord()]);
  const bad = imageRecord({ disk: 'floppy' });
  await pullRequest(f, 'bad', [bad]);
  const push = await gitlab(f, await checkout(f, 'good'));
  t.is(push.code, 0, push.stdout + push.stderr);
  const good = await gitlab(f, await checkout(f, 'good'), 'main');
  t.is(good.code, 0, good.stdout + good.stderr);
  const refused = await gitlab(f, await checkout(f, 'bad'), 'main');
  t.is(refused.code, 1, refused.stdout + refused.stderr);
  t.regex(refused.stdout, new RegExp(`^${recordFile(bad.id)}: disk: disk: expected one of .*\\[enum\\]$`, 'm'));
});

test('the vendored checker answers what `visor catalog validate` answers, in full and for a change', async (t) => {
  const f = await forge(t);
  const broken = [imageRecord({ min_disk: -1 }), imageRecord({ disk: 'floppy', colour: 'blue' }), imageRecord({ access: 'private' }), imageRecord({ kernel_id: imageRecord().id })];
  await pullRequest(f, 'mixed', [imageRecord(), ...broken]);
  const dir = await checkout(f, 'mixed');
  git(dir, 'fetch', '-q', '--depth=1', 'origin', 'main:refs/remotes/origin/main');
  for (const args of [[], ['--base', 'origin/main']]) {
    const checker = await runScript(f, dir, `node .visor/visor-check.mjs validate ${args.join(' ')}`, {});
    const visor = await runVisor(['catalog', 'validate', ...args], { cwd: dir });
    t.is(checker.code, 1, checker.stderr);
    t.is(checker.code, visor.code);
    t.is(checker.stdout, visor.stdout, `validate ${args.join(' ')}`);
    t.true(checker.stdout.split('\n').length > broken.length, checker.stdout);
  }
  const usage = await runScript(f, dir, 'node .visor/visor-check.mjs validate --base=--output=/tmp/visor-should-not-exist', {});
  t.is(usage.code, 2);
  t.regex(usage.stderr, /a revision, not an option/);
});

test('update-ci brings an older catalogue the current checker and workflows, and the server accepts them; nothing else may sit in .visor/', async (t) => {
  const f = await forge(t);
  const server = f.remote;
  // A catalogue from before the checker: the old workflows, no .visor/.
  const clone = join(f.root, 'maintainer');
  git(f.root, 'clone', '-q', server, clone);
  git(clone, 'rm', '-q', '-r', '.visor');
  await writeFile(join(clone, '.gitlab-ci.yml'), 'visor-catalogue:\n  script: [npx --yes visor catalog validate]\n');
  git(clone, 'commit', '-q', '-a', '-m', 'as catalogues were made before');
  git(clone, 'push', '-q', 'origin', 'main');
  await installHooks(server, { publicCatalogue: true });

  const update = await runVisor(['--json', 'catalog', 'update-ci', clone]);
  t.is(update.code, 0, update.stderr);
  t.deepEqual((JSON.parse(update.stdout) as { changed: string[] }).changed.sort(), ['.gitlab-ci.yml', '.visor/visor-check.mjs']);
  t.is(await readFile(join(clone, '.visor/visor-check.mjs'), 'utf8'), await readFile(BUILT_CHECKER, 'utf8'));
  git(clone, 'commit', '-q', '-m', 'visor catalog update-ci');
  const push = tryGit(clone, 'push', 'origin', 'main');
  t.is(push.status, 0, push.stderr);
  t.deepEqual((await updateCiFiles(clone)).changed, [], 'nothing to update once current');

  // The allow-list names the checker's file, not its folder.
  await mkdir(join(clone, '.visor/lib'), { recursive: true });
  await writeFile(join(clone, '.visor/lib/other.mjs'), 'export {};\n');
  git(clone, 'add', '-A');
  git(clone, 'commit', '-q', '--no-verify', '-m', 'something else in .visor');
  const refused = tryGit(clone, 'push', 'origin', 'main');
  t.not(refused.status, 0);
  t.regex(refused.stderr, /\.visor\/lib\/other\.mjs: \(path\): .*\[allowed-path\]/);
  await t.throwsAsync(updateCiFiles(f.bin), { message: /a catalogue .* not found/ });
});

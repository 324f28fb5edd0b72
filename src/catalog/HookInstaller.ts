import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, isAbsolute } from 'node:path';
import { GitRunner } from '../git/GitRunner.ts';

export const HOOKS = ['pre-commit', 'pre-receive'] as const;
export type HookName = (typeof HOOKS)[number];

/** Where this installation's hook programs are: the TypeScript sources in a clone, the build when installed from npm. */
async function hookProgram(name: HookName): Promise<string> {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromSource = join(here, '..', '..', 'hooks', `${name}.ts`);
  const fromBuild = join(here, '..', '..', 'hooks', `${name}.js`);
  return import.meta.url.endsWith('.ts') ? fromSource : existsSync(fromBuild) ? fromBuild : fromSource;
}


/** The script git runs: this Node and this VISOR, by absolute path, so the hook works whatever PATH git has. */
export async function hookScript(name: HookName): Promise<string> {
  return `#!/bin/sh\n# VISOR ${name} hook, installed by \`visor catalog install-hooks\`.\nexec "${process.execPath}" "${await hookProgram(name)}" "$@"\n`;
}

export interface InstalledHooks {
  dir: string;
  bare: boolean;
  hooks: HookName[];
}

/**
 * Installs the hooks in a clone (pre-commit and pre-receive) or a bare server repository
 * (pre-receive), and registers the JSON merge driver named in the catalogue's .gitattributes.
 */
export async function installHooks(repo: string, options: { publicCatalogue?: boolean } = {}): Promise<InstalledHooks> {
  const git = new GitRunner(repo);
  const bare = (await git.run(['rev-parse', '--is-bare-repository'])).stdout.trim() === 'true';
  let hooksDir = (await git.run(['rev-parse', '--git-path', 'hooks'])).stdout.trim();
  if (!isAbsolute(hooksDir)) hooksDir = join(repo, hooksDir);
  await mkdir(hooksDir, { recursive: true });
  const hooks: HookName[] = bare ? ['pre-receive'] : ['pre-commit', 'pre-receive'];
  for (const name of hooks) {
    const file = join(hooksDir, name);
    await writeFile(file, await hookScript(name));
    await chmod(file, 0o755);
  }
  await registerMergeDriver(git);
  if (options.publicCatalogue) await git.run(['config', 'visor.public', 'true']);
  return { dir: hooksDir, bare, hooks };
}

/** The git configuration that tells git how to run the merge driver .gitattributes names for image records. */
export function mergeDriverConfig(): Array<[string, string]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const cli = import.meta.url.endsWith('.ts') ? join(here, '..', 'cli', 'visor.ts') : join(here, '..', 'cli', 'visor.js');
  return [
    ['merge.visor-json.name', 'VISOR image record merge (field by field)'],
    ['merge.visor-json.driver', `"${process.execPath}" "${cli}" catalog merge-driver %O %A %B %P`],
  ];
}

/** Tells git how to run the merge driver that .gitattributes names for image records. */
export async function registerMergeDriver(git: GitRunner): Promise<void> {
  for (const [key, value] of mergeDriverConfig()) await git.run(['config', key, value]);
}

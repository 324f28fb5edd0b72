import type { Command } from 'commander';
import { CliError } from '../CliError.ts';
import type { CliSession } from '../CliSession.ts';
import { ExitCode } from '../ExitCode.ts';

export function registerCatalogCommand(program: Command, session: CliSession): void {
  const catalog = program.command('catalog').description('create and check catalogue repositories');

  catalog
    .command('init')
    .description('create an empty catalogue repository, public (--public: never holds a private image; hooks, CI and syncs refuse one) or private')
    .argument('<dir>', 'directory for the new catalogue')
    .option('--public', 'a public catalogue: every copy of it refuses private images')
    .action(async (dir: string, options: { public?: boolean }) => {
      // Loaded on demand: only these commands need the Git machinery.
      const { initCatalog } = await import('../../catalog/CatalogRepo.ts');
      const visibility = options.public ? 'public' : 'private';
      await initCatalog(dir, visibility);
      session.output.result({ dir, visibility }, () => `initialised ${visibility} catalogue in ${dir}${visibility === 'private' ? ' (--public for one that refuses private images)' : ''}`);
    });

  catalog
    .command('validate')
    .description('check a catalogue: every record, or with --base only what changed since REV (a pull request)')
    .argument('[dir]', 'catalogue directory', '.')
    .option('--base <rev>', 'check only the changes from REV to HEAD, with the rules of the hooks')
    .action(async (dir: string, options: { base?: string }) => {
      const [{ formatProblem }, { validate }] = await Promise.all([import('../../catalog/CatalogCheckRun.ts'), import('../../catalog/CatalogValidator.ts')]);
      const problems = await validate(dir, options);
      session.output.result(problems, () => (problems.length === 0 ? `${dir}: valid` : problems.map((p) => formatProblem(p)).join('\n')));
      if (problems.length > 0) {
        // The problems are the output; the error only sets the exit status.
        throw new CliError(`${problems.length} problem(s) in ${dir}`, ExitCode.failure);
      }
    });

  catalog
    .command('update-ci')
    .description("write this installation's CI workflows and checker (.visor/visor-check.mjs) into a catalogue clone and stage them, after upgrading VISOR")
    .argument('[dir]', 'catalogue clone', '.')
    .action(async (dir: string) => {
      const { updateCiFiles } = await import('../../catalog/CatalogRepo.ts');
      const updated = await updateCiFiles(dir);
      session.output.result(updated, () =>
        updated.changed.length === 0 ? `${dir}: CI files already current` : `staged ${updated.changed.join(', ')} in ${dir}: review and commit them`,
      );
    });

  catalog
    .command('install-hooks')
    .description('install the pre-commit and pre-receive hooks and the JSON merge driver in a clone or a bare repository')
    .argument('[dir]', 'repository', '.')
    .option('--public', 'mark the catalogue public: pushes that contain private images are refused')
    .action(async (dir: string, options: { public?: boolean }) => {
      const { installHooks } = await import('../../catalog/HookInstaller.ts');
      const installed = await installHooks(dir, { publicCatalogue: options.public === true });
      session.output.result(installed, () => `installed ${installed.hooks.join(', ')} in ${installed.dir}`);
    });

  catalog
    .command('merge-driver')
    .description('merge one image record field by field (run by git through .gitattributes)')
    .argument('<base>', 'common ancestor version (%O)')
    .argument('<ours>', 'our version, replaced by the result (%A)')
    .argument('<theirs>', 'their version (%B)')
    .argument('[path]', 'path of the record in the catalogue (%P)')
    // The daemon's upstream sync sets these through the environment; people get the default: stop.
    .option('--prefer <side>', 'resolve conflicting fields with ours or theirs instead of stopping', process.env['VISOR_MERGE_PREFER'] ?? 'none')
    .option('--report <file>', 'append every conflict, resolved or not, as a JSON line', process.env['VISOR_MERGE_REPORT'])
    .action(async (base: string, ours: string, theirs: string, path: string | undefined, options: { prefer: string; report?: string }) => {
      const { runMergeDriver } = await import('../../catalog/MergeDriver.ts');
      const clean = await runMergeDriver({ base, ours, theirs, path: path ?? ours, prefer: options.prefer, ...(options.report ? { report: options.report } : {}) });
      if (!clean) throw new CliError(`conflicting changes in ${path ?? ours}; resolve them by hand`, ExitCode.failure);
    });
}

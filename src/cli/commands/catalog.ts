import type { Command } from 'commander';
import { CliError } from '../CliError.ts';
import type { CliSession } from '../CliSession.ts';
import { describeProblem } from '../errorReport.ts';
import { ExitCode } from '../ExitCode.ts';

export function registerCatalogCommand(program: Command, session: CliSession): void {
  const catalog = program.command('catalog').description('create and check catalogue repositories');

  catalog
    .command('init')
    .description('create an empty catalogue repository')
    .argument('<dir>', 'directory for the new catalogue')
    .action(async (dir: string) => {
      // Loaded on demand: only these commands need the Git machinery.
      const { initCatalog } = await import('../../catalog/CatalogRepo.ts');
      await initCatalog(dir);
      session.output.result({ dir }, () => `initialised catalogue in ${dir}`);
    });

  catalog
    .command('validate')
    .description('check every record of a catalogue against the schema')
    .argument('[dir]', 'catalogue directory', '.')
    .action(async (dir: string) => {
      const { validateCatalog } = await import('../../catalog/CatalogValidator.ts');
      const problems = await validateCatalog(dir);
      session.output.result(problems, () =>
        problems.length === 0 ? `${dir}: valid` : problems.map((p) => `${p.file}: ${describeProblem(p)}`).join('\n'),
      );
      if (problems.length > 0) {
        // The problems are the output; the error only sets the exit status.
        throw new CliError(`${problems.length} problem(s) in ${dir}`, ExitCode.failure);
      }
    });
}

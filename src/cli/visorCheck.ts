import { parseArgs } from 'node:util';
import { validate } from '../catalog/CatalogValidator.ts';
import { formatProblem } from '../catalog/CatalogCheckRun.ts';
import { VisorError } from '../errors/VisorError.ts';
import { ExitCode } from './ExitCode.ts';

// The checker a catalogue's CI runs, bundled into one file (dist/visor-check.mjs, by
// src/cli/bundleVisorCheck.ts) that `visor catalog init` and `update-ci` copy into the catalogue as
// .visor/visor-check.mjs: a runner needs Node and git, nothing installed. It is `visor catalog
// validate` and nothing more: same core, same output, same exit statuses; no commander, so the
// bundle carries only the rules.
const USAGE = 'usage: node .visor/visor-check.mjs validate [--base REV] [DIR]';

export async function runVisorCheck(args: readonly string[]): Promise<ExitCode> {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { base: { type: 'string' } }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`visor-check: ${(error as Error).message}\n${USAGE}\n`);
    return ExitCode.usage;
  }
  const [command, dir = '.', ...extra] = parsed.positionals;
  if (command !== 'validate' || extra.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return ExitCode.usage;
  }
  try {
    const problems = await validate(dir, { base: parsed.values.base });
    process.stdout.write(`${problems.length === 0 ? `${dir}: valid` : problems.map((p) => formatProblem(p)).join('\n')}\n`);
    if (problems.length === 0) return ExitCode.ok;
    process.stderr.write(`visor-check: ${problems.length} problem(s) in ${dir}\n`);
    return ExitCode.failure;
  } catch (error) {
    process.stderr.write(`visor-check: ${(error as Error).message}\n`);
    return error instanceof VisorError && error.kind === 'invalid' ? ExitCode.usage : ExitCode.failure;
  }
}

process.exitCode = await runVisorCheck(process.argv.slice(2));

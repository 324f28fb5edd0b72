// VISOR pre-commit hook (publisher side): checks the staged image records against what HEAD holds.
// Installed by `visor catalog install-hooks`; git runs it with the repository as working directory.
import { CatalogCheckRun, formatProblem } from '../src/catalog/CatalogCheckRun.ts';
import { commitRef, EMPTY, INDEX } from '../src/catalog/CatalogTree.ts';

const run = await CatalogCheckRun.open(process.cwd());
try {
  const head = await run.git.revParse('HEAD');
  const { problems } = await run.check(head ? commitRef(head) : EMPTY, INDEX);
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  if (problems.length > 0) {
    process.stderr.write(`visor: commit refused: ${problems.length} problem(s) in the staged catalogue files\n`);
    process.exitCode = 1;
  }
} finally {
  await run.close();
}

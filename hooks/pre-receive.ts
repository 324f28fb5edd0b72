// VISOR pre-receive hook (server side): checks every pushed ref. The main branch moves only forward;
// every branch is checked for what it changes against what it started from.
import { CatalogCheckRun, formatProblem, ZERO_OID } from '../src/catalog/CatalogCheckRun.ts';
import { commitRef, EMPTY, type TreeRef } from '../src/catalog/CatalogTree.ts';
import type { FileProblem } from '../src/catalog/CatalogScanner.ts';
import { oversized, withHistory } from '../src/catalog/HistoryChecks.ts';

const input = await new Promise<string>((resolve) => {
  let data = '';
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (chunk: string) => (data += chunk));
  process.stdin.on('end', () => resolve(data));
});

const run = await CatalogCheckRun.open(process.cwd());
let refused = 0;
try {
  const mainBranch = (await run.git.run(['config', '--default', 'main', 'visor.branch'])).stdout.trim();
  const mainRef = `refs/heads/${mainBranch}`;
  const mainHead = await run.git.revParse(mainRef);
  // Public by the server's setting (install-hooks --public) or by the catalogue's own (catalog init --public).
  const publicCatalogue =
    (await run.git.run(['config', '--bool', '--default', 'false', 'visor.public'])).stdout.trim() === 'true' || (mainHead !== undefined && (await run.visibilityAt(mainHead)) === 'public');
  for (const line of input.split('\n')) {
    const [oldRev, newRev, ref] = line.trim().split(' ');
    if (!oldRev || !newRev || !ref) continue;
    const problems: FileProblem[] = [];
    const refProblem = (message: string, rule: string) => problems.push({ file: ref, field: '(ref)', rule, expected: 'a fast-forward of the main branch', message });
    if (ref === mainRef && ZERO_OID.test(newRev)) refProblem(`the ${mainBranch} branch cannot be deleted`, 'delete-main');
    if (ref === mainRef && !ZERO_OID.test(oldRev) && !ZERO_OID.test(newRev) && !(await run.isAncestor(oldRev, newRev))) {
      refProblem(`non-fast-forward update of ${mainBranch} refused: history is the audit trail`, 'non-fast-forward');
    }
    if (!ZERO_OID.test(newRev)) {
      let base: TreeRef = EMPTY;
      let range = newRev;
      if (!ZERO_OID.test(oldRev)) {
        base = commitRef(oldRev);
        range = `${oldRev}..${newRev}`;
      } else if (mainHead) {
        const mergeBase = (await run.git.run(['merge-base', mainHead, newRev]).catch(() => ({ stdout: '' }))).stdout.trim();
        if (mergeBase) {
          base = commitRef(mergeBase);
          range = `${mergeBase}..${newRev}`;
        }
      }
      // History first: it sizes files before reading them, and the final check reads them whole.
      const history = await run.history(range, { publicOnly: publicCatalogue });
      problems.push(...(oversized(history) ? history : withHistory((await run.check(base, commitRef(newRev))).problems, history)));
    }
    for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
    if (problems.length > 0) refused++;
  }
  if (refused > 0) {
    process.stderr.write(`visor: push refused: ${refused} ref(s) failed the catalogue checks\n`);
    process.exitCode = 1;
  }
} finally {
  await run.close();
}

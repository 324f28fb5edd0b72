/**
 * Imported first by the `visor` entry points, before anything else loads: under an older Node the
 * rest fails to load with an obscure SyntaxError (an import Node lacks, such as enableCompileCache),
 * so say plainly what is needed instead. Written to run on any Node that loads ES modules.
 */
const REQUIRED_MAJOR = 24;

const running = process.versions.node;
if (Number(running.split('.')[0]) < REQUIRED_MAJOR) {
  process.stderr.write(
    `visor: needs Node.js ${REQUIRED_MAJOR} or newer, and this is Node.js ${running} (${process.execPath}).\n` +
      `  Install Node.js ${REQUIRED_MAJOR} (https://nodejs.org/en/download, or your system's packages), put it first on PATH, and run visor again.\n`,
  );
  // ExitCode.failure; the module that names it is not loaded here.
  process.exit(1);
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Read at run time, not imported: a JSON import of the package's own package.json makes tsc emit a
// copy into dist/, which then shadows the real one for self-references (visor/visor-check.mjs
// resolved to dist/dist/visor-check.mjs and the daemon refused to start).
const packageJson = JSON.parse(readFileSync(fileURLToPath(import.meta.resolve('visor/package.json')), 'utf8')) as { version: string };

/** The package's version, read from its package.json: `visor --version`, the User-Agent and the API document say it. */
export const VISOR_VERSION: string = packageJson.version;

/** What VISOR's own HTTP clients (the CLI, VisorClient) call themselves. */
export const VISOR_USER_AGENT = `visor/${VISOR_VERSION}`;

import { build, type Metafile } from 'esbuild';
import { readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

// Bundles the checker a catalogue's CI runs (src/cli/visorCheck.ts) into one ES module,
// dist/visor-check.mjs, that needs only Node and git: its dependencies (ajv, the image schema) are
// inside, their licences at the end (the file travels into every catalogue). Run by `npm run build`;
// a build step beside its entry, never compiled into dist (tsconfig.build.json leaves it out).
const root = resolve(import.meta.dirname, '../..');
const { version } = JSON.parse(await readFile(resolve(root, 'package.json'), 'utf8')) as { version: string };
const out = resolve(root, 'dist/visor-check.mjs');

/** The licence of every package the bundle takes code from, as one comment. */
async function licences(metafile: Metafile): Promise<string> {
  const packages = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const m = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) packages.add(m[1]!);
  }
  const texts: string[] = [];
  for (const name of [...packages].sort()) {
    const dir = join(root, 'node_modules', name);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string; license: string };
    const file = (await readdir(dir)).find((f) => /^licen[cs]e/i.test(f));
    if (!file) throw new Error(`${name} ships no licence file: the bundle cannot carry it without one`);
    texts.push(`${name} ${pkg.version} (${pkg.license}):\n\n${(await readFile(join(dir, file), 'utf8')).trim()}`);
  }
  return `/*\nBundled packages and their licences\n\n${texts.join('\n\n---\n\n').replaceAll('*/', '* /')}\n*/\n`;
}

const result = await build({
  entryPoints: [resolve(root, 'src/cli/visorCheck.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  // Node 24 is what actions/setup-node and node:24 give; the bundle uses nothing newer than Node 20 has.
  target: 'node20',
  // Not minified: maintainers can read what their CI runs, and review its diff on an update.
  write: false,
  metafile: true,
  logLevel: 'warning',
  banner: {
    js: [
      `// VISOR ${version} catalogue checker, bundled from \`visor catalog validate\` (Apache-2.0).`,
      '// Written by `visor catalog init`; `visor catalog update-ci` refreshes it. Run: node .visor/visor-check.mjs validate [--base REV] [DIR]',
      // The CommonJS dependencies (ajv) call require() for Node's own modules, which an ES module lacks.
      "import { createRequire as __visorRequire } from 'node:module'; const require = __visorRequire(import.meta.url);",
    ].join('\n'),
  },
});
// The two-thread scan loads its worker module by URL beside its own, which a single file has not:
// `catalog validate` scans on one thread (scanCatalog), and the bundle must keep it that way.
const workerScan = Object.keys(result.metafile.inputs).filter((input) => /(ParallelScan|CatalogScanWorker)\.ts$/.test(input));
if (workerScan.length > 0) throw new Error(`the checker bundle would hold ${workerScan.join(', ')}: its worker cannot load from a single file`);
// Beside, then renamed: a test or `catalog init` reading it meanwhile sees the old file or the new, never half of one.
const temp = `${out}.${process.pid}.tmp`;
await writeFile(temp, `${result.outputFiles[0]!.text}\n${await licences(result.metafile)}`);
await rename(temp, out);

import test from 'ava';
import { startTestDaemon } from './helpers/daemon.ts';

// What a program gets from `import { VisorClient } from 'visor'`: the built JavaScript (npm test builds it first).
test('the package entry point exports a working VisorClient', async (t) => {
  // A computed name keeps the type check independent of whether dist/ has been built yet.
  const entry = 'visor';
  const visor = (await import(entry)) as typeof import('../src/index.ts');
  t.is(typeof visor.VisorClient, 'function');
  const d = await startTestDaemon();
  try {
    const client = new visor.VisorClient({ url: d.url, token: d.token });
    const image = await client.create({ name: 'from-the-package', access: 'public' });
    t.is((await client.get(image.id)).name, 'from-the-package');
  } finally {
    await d.stop();
  }
});

test('the package ships the image schema for others to use', async (t) => {
  const { createRequire } = await import('node:module');
  const schema = createRequire(import.meta.url)('visor/catalog-schema/image.schema.json') as { $schema: string; properties: Record<string, unknown> };
  t.is(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
  t.truthy(schema.properties['checksum']);
});

test('the build leaves no package.json inside dist/, so the package resolves its own files from its root', async (t) => {
  const { existsSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  // A second package.json in dist/ (tsc emits one when src imports the package's own) made
  // visor/visor-check.mjs resolve to dist/dist/… and the built daemon refuse to start.
  t.false(existsSync(new URL('../dist/package.json', import.meta.url)));
  t.true(existsSync(fileURLToPath(import.meta.resolve('visor/visor-check.mjs'))));
});

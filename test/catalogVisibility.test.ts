/**
 * A catalogue's visibility is chosen at `catalog init` and carried by the catalogue itself, so that
 * every copy enforces it: the publisher's pre-commit hook, the server's pre-receive hook and CI alike.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runVisor, runVisorJson } from './helpers/cli.ts';
import { installHooks } from '../src/catalog/HookInstaller.ts';
import { git, imageRecord, publisherIdentity, recordFile, tempDir, tryGit, writeRecordFile } from './helpers/gitRepos.ts';

/** A public catalogue made by `visor catalog init --public`, a server of it with plain hooks (no server-side setting), and a publisher's clone with hooks. */
async function publicCatalogue(): Promise<{ root: string; server: string; clone: string; visibility: string }> {
  const root = await tempDir();
  const seed = join(root, 'seed');
  const made = await runVisorJson<{ visibility: string }>(['catalog', 'init', seed, '--public'], { env: publisherIdentity() });
  const server = join(root, 'server.git');
  git(root, 'clone', '-q', '--bare', seed, server);
  await installHooks(server);
  const clone = join(root, 'clone');
  git(root, 'clone', '-q', server, clone);
  await installHooks(clone);
  return { root, server, clone, visibility: made.visibility };
}

test('catalog init says which visibility it chose, and writes it into the catalogue', async (t) => {
  const root = await tempDir();
  const plain = await runVisor(['catalog', 'init', join(root, 'plain')], { env: publisherIdentity() });
  t.is(plain.code, 0);
  t.regex(plain.stdout, /initialised private catalogue .*--public/);
  t.is(JSON.parse(await readFile(join(root, 'plain', 'visor-catalog.json'), 'utf8')).visibility, 'private');
  await runVisor(['catalog', 'init', join(root, 'open'), '--public'], { env: publisherIdentity() });
  t.is(JSON.parse(await readFile(join(root, 'open', 'visor-catalog.json'), 'utf8')).visibility, 'public');
});

test('a public catalogue refuses a private record in the publisher\'s commit, at the server and in CI', async (t) => {
  const { clone, visibility } = await publicCatalogue();
  t.is(visibility, 'public');
  const secret = imageRecord({ access: 'private' });
  await writeRecordFile(clone, secret);
  git(clone, 'add', '-A');
  const commit = tryGit(clone, 'commit', '-m', 'a private image');
  t.not(commit.status, 0, 'the pre-commit hook refuses it');
  t.regex(commit.stderr, new RegExp(`${recordFile(secret.id)}: access: .*\\[public-catalogue\\]`));
  git(clone, 'commit', '-q', '--no-verify', '-m', 'a private image, hooks skipped');
  const validate = await runVisor(['catalog', 'validate', clone]);
  t.is(validate.code, 1, 'CI: the whole catalogue');
  t.regex(validate.stdout + validate.stderr, /\[public-catalogue\]/);
  const validateBase = await runVisor(['catalog', 'validate', clone, '--base', 'origin/main']);
  t.is(validateBase.code, 1, 'CI: the pull request');
  const push = tryGit(clone, 'push', 'origin', 'HEAD:refs/heads/leak');
  t.not(push.status, 0, 'the server refuses it without a setting of its own');
  t.regex(push.stderr, /\[public-catalogue\]/);
});

test('a public catalogue cannot be made private by a change', async (t) => {
  const { clone } = await publicCatalogue();
  const config = JSON.parse(await readFile(join(clone, 'visor-catalog.json'), 'utf8')) as Record<string, unknown>;
  await writeFile(join(clone, 'visor-catalog.json'), `${JSON.stringify({ ...config, visibility: 'private' }, null, 2)}\n`);
  git(clone, 'commit', '-q', '--no-verify', '-am', 'make it private');
  const push = tryGit(clone, 'push', 'origin', 'HEAD:refs/heads/flip');
  t.not(push.status, 0);
  t.regex(push.stderr, /visor-catalog\.json: visibility: .*\[visibility\]/);
});

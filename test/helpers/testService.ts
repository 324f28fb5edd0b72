import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/**
 * Runs a test service's ensure script (it installs and starts the service unless `npm test` already
 * did, and prints the path of its state file) and answers that file's KEY=value lines.
 */
export async function ensuredService(script: URL): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)('bash', [fileURLToPath(script)], { timeout: 300_000 });
  return Object.fromEntries(
    (await readFile(stdout.trim(), 'utf8'))
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

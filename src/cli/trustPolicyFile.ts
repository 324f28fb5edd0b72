import { readFile } from 'node:fs/promises';
import { invalidInput } from './CliError.ts';
import { DEFAULT_POLICY, parseTrustPolicy, type TrustPolicy } from '../trust/TrustPolicy.ts';

/** `--policy FILE` of visor verify and visor download (default: one valid endorsement, nothing revoked). */
export async function trustPolicyFile(file: string | undefined): Promise<TrustPolicy> {
  if (file === undefined) return DEFAULT_POLICY;
  const text = await readFile(file, 'utf8').catch(() => {
    throw invalidInput(`--policy ${file}: cannot read it`);
  });
  return parseTrustPolicy(text, `--policy ${file}`);
}

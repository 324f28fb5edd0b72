import { CATALOG_CONFIG_FILE } from './CatalogLayout.ts';
import type { FileProblem } from './CatalogScanner.ts';

/**
 * A catalogue's visibility, chosen at `catalog init` and kept in its own visor-catalog.json, so that
 * every copy carries it: a public catalogue never holds a private record, and the publisher's
 * pre-commit hook, the server's pre-receive hook and CI read the same setting. Anything but an
 * explicit "public" is private (older catalogues have no such field).
 */
export type Visibility = 'public' | 'private';

export function visibilityOf(configText: string | undefined): Visibility {
  if (configText === undefined) return 'private';
  try {
    return (JSON.parse(configText) as { visibility?: unknown }).visibility === 'public' ? 'public' : 'private';
  } catch {
    return 'private';
  }
}

/** The one refusal of a private record in a public catalogue, whoever finds it. */
export function privateInPublic(file: string, commit?: string): FileProblem {
  const where = commit ? `commit ${commit} adds a private image to a public catalogue` : 'this catalogue is public';
  return { file, field: 'access', rule: 'public-catalogue', expected: 'public', message: `${where}: private images must stay in their own instance` };
}

/** A public catalogue stays public: a change cannot loosen the rule every later change is judged by. */
export function visibilityChangeProblem(before: Visibility, after: Visibility): FileProblem | undefined {
  if (before !== 'public' || after === 'public') return undefined;
  return { file: CATALOG_CONFIG_FILE, field: 'visibility', rule: 'visibility', expected: 'public', message: 'a public catalogue cannot be made private: its history is public already' };
}

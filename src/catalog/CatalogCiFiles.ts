import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { VENDORED_CHECKER } from './CatalogLayout.ts';
import { unavailable } from '../errors/VisorError.ts';

// Pull-request checks: the same rules as the hooks, only over what the pull request changed. The
// runner has Node and git and nothing of VISOR (no `visor` package is published): the catalogue
// carries its own checker, bundled from this installation (src/cli/visorCheck.ts).
const CHECK = `node ${VENDORED_CHECKER} validate`;

const GITHUB_WORKFLOW = `name: VISOR catalogue
on: [pull_request, push]
# The check reads the repository and nothing more; the token a pull request's run gets can do no more.
permissions:
  contents: read
jobs:
  validate:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 24
      # Facts of records already checked, by blob id: a check then reads only what changed.
      - uses: actions/cache@v4
        with:
          path: .git/visor
          key: visor-facts-\${{ github.sha }}
          restore-keys: visor-facts-
      # ${VENDORED_CHECKER} is \`visor catalog validate\` in one file: no install, no network.
      - name: Check the catalogue
        env:
          BASE: \${{ github.base_ref }}
        run: |
          if [ -n "$BASE" ]; then
            git fetch --depth=1 origin "$BASE:refs/remotes/origin/$BASE"
            ${CHECK} --base "origin/$BASE"
          else ${CHECK}; fi
`;

const GITLAB_CI = `visor-catalogue:
  image: node:24
  # Merge request pipelines check what a merge request changes and every commit it brings (a job
  # without rules runs in branch pipelines only, which never see one); branches, the whole catalogue.
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
    - if: $CI_COMMIT_BRANCH
  # Facts of records already checked, by blob id: a check then reads only what changed.
  cache:
    key: visor-facts
    paths: [.git/visor/]
  # ${VENDORED_CHECKER} is \`visor catalog validate\` in one file: no install, no network. The target
  # branch is fetched to a named ref: in a single-branch clone a plain fetch would set only FETCH_HEAD.
  script:
    - |
      if [ -n "$CI_MERGE_REQUEST_TARGET_BRANCH_NAME" ]; then
        git fetch --depth=1 origin "+$CI_MERGE_REQUEST_TARGET_BRANCH_NAME:refs/remotes/origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
        ${CHECK} --base "origin/$CI_MERGE_REQUEST_TARGET_BRANCH_NAME"
      else
        ${CHECK}
      fi
`;

export const GITHUB_WORKFLOW_FILE = '.github/workflows/visor-catalog.yml';
export const GITLAB_CI_FILE = '.gitlab-ci.yml';

/** The files `catalog init` writes for CI, and `catalog update-ci` writes again, by path in the catalogue. */
export const CI_FILES: readonly string[] = [GITHUB_WORKFLOW_FILE, GITLAB_CI_FILE, VENDORED_CHECKER];

/**
 * The checker as this installation built it (`npm run build`: dist/visor-check.mjs), found through
 * the package's own exports from the sources and from dist alike.
 */
async function builtChecker(): Promise<string> {
  const path = fileURLToPath(import.meta.resolve('visor/visor-check.mjs'));
  if (!existsSync(path)) throw unavailable(`the catalogue checker ${path} is missing: run \`npm run build\` in the VISOR installation`);
  return readFile(path, 'utf8');
}

/**
 * Writes the CI files into a catalogue working tree, each beside its final name and renamed into
 * place: an update cut short leaves each file old or new, never half of one.
 */
export async function writeCiFiles(dir: string): Promise<readonly string[]> {
  const contents = new Map([
    [GITHUB_WORKFLOW_FILE, GITHUB_WORKFLOW],
    [GITLAB_CI_FILE, GITLAB_CI],
    [VENDORED_CHECKER, await builtChecker()],
  ]);
  for (const [path, text] of contents) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(`${target}.tmp`, text);
    await rename(`${target}.tmp`, target);
  }
  return CI_FILES;
}

/**
 * An example or two for every command's help, by its path (`user add`). Kept in one table so that
 * `visor <command> --help` always ends with something to copy, and a test can walk every command and
 * find its examples here.
 */
const ID = '0f6c9b1e-4a0d-4c7e-9d3a-2b8f5e1c7a42';

export const COMMAND_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  '': ['visor list', 'visor add --name debian-13 --arch x86_64 --disk qcow2 --access public --file debian-13.qcow2', 'VISOR_URL=https://images.example.org visor --json list tag=lts'],
  serve: ['visor serve', 'VISOR_PORT=8080 visor serve --config /etc/visor/visor.toml'],
  add: ['visor add --name debian-13 --arch x86_64 --disk qcow2 --series debian --access public --file debian-13.qcow2', 'visor add --name scratch --disk raw --property os=linux'],
  list: ['visor list', 'visor list architecture=x86_64 tag=lts --sort name --dir asc', 'visor --json list --all'],
  detail: ['visor detail series=debian', 'visor --json detail --limit 10'],
  show: [`visor show ${ID}`, `visor --json show ${ID}`],
  update: [`visor update ${ID} description='Debian 13, patched' tags=lts,stable`, `visor update ${ID} min_ram=1024 property.os=linux kernel= --if-match '"3f2a…"'`],
  delete: [`visor delete ${ID}`],
  upload: [`visor upload ${ID} debian-13.qcow2`, `xz -dc debian-13.qcow2.xz | visor upload ${ID} - --checksum sha256:<hex>`],
  download: [`visor download ${ID}`, `visor download ${ID} - | qemu-img info -`],
  latest: ['visor latest debian', 'visor --json latest debian --owner alice'],
  history: [`visor history ${ID}`],
  mirror: ['visor mirror http://127.0.0.1:4568/catalog.git ./catalog-mirror --once'],
  publish: ['visor publish debian-13.qcow2 --name debian-13 --arch x86_64 --disk qcow2 --store-dir /srv/visor/files', 'visor publish debian-13.qcow2 --name debian-13 --to-daemon --no-push'],
  catalog: ['visor catalog init ./catalog --public', 'visor catalog validate ./catalog'],
  'catalog init': ['visor catalog init ./catalog', 'visor catalog init ./public-catalog --public'],
  'catalog validate': ['visor catalog validate', 'visor catalog validate --base origin/main'],
  'catalog update-ci': ['visor catalog update-ci ./catalog'],
  'catalog install-hooks': ['visor catalog install-hooks ./catalog', 'visor catalog install-hooks /srv/git/catalog.git --public'],
  'catalog merge-driver': ["git config merge.visor.driver 'visor catalog merge-driver %O %A %B %P'"],
  trust: ['visor trust status --catalog ./catalog'],
  'trust sign': ['visor trust sign endorsers.json --key ~/.ssh/id_ed25519 --catalog ./catalog', 'visor trust sign root.json --key ~/.ssh/id_ed25519'],
  'trust status': ['visor trust status', 'visor --json trust status --catalog ./catalog'],
  grant: [`visor grant ${ID} checkout --user alice`, `visor grant ${ID} commit --group builders`],
  revoke: [`visor revoke ${ID} --user alice`],
  grants: [`visor grants ${ID}`],
  user: ['visor user add alice', 'visor user list'],
  'user add': ['visor user add alice', 'visor user add ci-bot --group builders', 'visor user add mirror-hook --sync'],
  'user list': ['visor user list'],
  'user show': ['visor user show alice'],
  'user disable': ['visor user disable alice'],
  'user enable': ['visor user enable alice'],
  'user remove': ['visor user remove alice'],
  'user rotate-key': ['visor user rotate-key alice'],
  login: ['visor login https://images.example.org', 'visor login http://127.0.0.1:4568 --token-stdin < admin-token'],
  logout: ['visor logout https://images.example.org'],
  completion: ['eval "$(visor completion bash)"   # in ~/.bashrc', 'eval "$(visor completion zsh)"    # in ~/.zshrc, after compinit'],
  whoami: ['visor whoami', 'VISOR_TOKEN=visor_… visor --json whoami'],
  group: ['visor group create builders', 'visor group add builders alice bob'],
  'group create': ['visor group create builders'],
  'group delete': ['visor group delete builders'],
  'group add': ['visor group add builders alice bob'],
  'group remove': ['visor group remove builders bob'],
  'group list': ['visor group list'],
  report: ['visor report', 'visor report --unused-days 30 --top 5'],
  copy: [`visor copy ${ID} --to s3`, `visor copy ${ID} --to swift --move`],
  link: [`visor link ${ID} https://mirror.example.org/images/debian-13.qcow2`, `visor link ${ID} --store s3 --key images/debian-13.qcow2 --checksum sha256:<hex>`],
  inspect: [`visor inspect ${ID}`],
  endorse: [`visor endorse ${ID} --key ~/.ssh/id_ed25519 --claim tested --to ./catalog`, `visor endorse ${ID} --key ~/.ssh/id_ed25519 --revoke --reason 'superseded' --to ./catalog`],
  verify: [`visor verify ${ID}`, `visor verify ${ID} --policy policy.json --catalog ./catalog`, `visor verify --catalog ./catalog --policy policy.json`],
  deprecate: [`visor deprecate ${ID} --reason 'end of life' --replaced-by 7d1e0c52-9b3f-4e8a-a6d4-51c2f0b9e813`, `visor deprecate ${ID} --undo`],
  scan: [`visor scan ${ID}`],
  release: [`visor release ${ID}`],
  store: ['visor store list', 'visor store gc --dry-run'],
  'store list': ['visor store list'],
  'store gc': ['visor store gc --dry-run', 'visor store gc s3 --older-than 2h --unreferenced'],
  hide: [`visor hide ${ID} --reason 'not licensed for redistribution here'`],
  unhide: [`visor unhide ${ID}`],
  hidden: ['visor hidden'],
};

/** The help text's closing lines for a command, or undefined when the table has none for it. */
export function examplesHelp(path: string): string | undefined {
  const examples = COMMAND_EXAMPLES[path];
  return examples === undefined ? undefined : `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}`;
}

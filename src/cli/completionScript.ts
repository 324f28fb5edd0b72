import type { Command, Option } from 'commander';

export type CompletionShell = 'bash' | 'zsh';

/** One command's words: what may follow it, which of its options take a value. */
interface Node {
  path: string;
  subcommands: string[];
  options: string[];
  valued: string[];
}

/** Names a shell script may carry as they are; anything else is left out rather than quoted. */
const PLAIN = /^-{0,2}[A-Za-z0-9][A-Za-z0-9._:-]*$/;

/**
 * A completion script for `shell`, made by walking the commander program itself (commands,
 * subcommands, options, aliases), so it lists exactly what the CLI accepts and cannot drift from it.
 * zsh runs the same function through its bash compatibility layer (bashcompinit).
 */
export function completionScript(program: Command, shell: CompletionShell): string {
  const nodes: Node[] = [];
  walk(program, '', nodes);
  const global = flags(program.options);
  const body = bashFunction(nodes, global);
  if (shell === 'bash') return `# bash completion for visor: eval "$(visor completion bash)" in ~/.bashrc\n${body}`;
  return `#compdef visor\n# zsh completion for visor: eval "$(visor completion zsh)" in ~/.zshrc (after compinit)\nautoload -U +X bashcompinit && bashcompinit\n${body}`;
}

function walk(command: Command, path: string, nodes: Node[]): void {
  const subs = command.commands.filter((sub) => !(sub as Command & { _hidden?: boolean })._hidden);
  const own = flags(command.options);
  nodes.push({
    path,
    subcommands: [...subs.flatMap((sub) => [sub.name(), ...sub.aliases()]), ...(subs.length > 0 ? ['help'] : [])].filter((name) => PLAIN.test(name)),
    options: [...own.all, '-h', '--help'],
    valued: own.valued,
  });
  for (const sub of subs) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`, nodes);
}

function flags(options: readonly Option[]): { all: string[]; valued: string[] } {
  const shown = options.filter((option) => !option.hidden);
  const names = (option: Option): string[] => [option.short, option.long].filter((name): name is string => name !== undefined && PLAIN.test(name));
  return { all: shown.flatMap(names), valued: shown.filter((option) => option.required || option.optional).flatMap(names) };
}

function bashFunction(nodes: readonly Node[], global: { all: string[]; valued: string[] }): string {
  const cases = (pick: (node: Node) => readonly string[]): string =>
    nodes.map((node) => `    '${node.path}') echo '${pick(node).join(' ')}' ;;`).join('\n');
  return `_visor_subcommands() {
  case "$1" in
${cases((node) => node.subcommands)}
  esac
}
_visor_options() {
  case "$1" in
${cases((node) => (node.path === '' ? node.options : [...node.options, ...global.all]))}
  esac
}
_visor_valued() {
  case "$1" in
${cases((node) => [...node.valued, ...global.valued])}
  esac
}
_visor() {
  # zsh (through bashcompinit) counts array items from 1 unless told to count from 0 as bash does.
  [[ -n \${ZSH_VERSION-} ]] && setopt localoptions ksharrays
  local cur="\${COMP_WORDS[COMP_CWORD]}" path='' skip='' word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="\${COMP_WORDS[i]}"
    if [[ -n $skip ]]; then skip=''; continue; fi
    case "$word" in
      -*=*) ;;
      -*) [[ " $(_visor_valued "$path") " == *" $word "* ]] && skip=1 ;;
      *) [[ " $(_visor_subcommands "$path") " == *" $word "* ]] && path="\${path:+$path }$word" ;;
    esac
  done
  COMPREPLY=()
  # The value of an option, or an argument: let the shell offer file names.
  [[ -n $skip ]] && return 0
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_visor_options "$path")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_visor_subcommands "$path")" -- "$cur"))
  fi
  return 0
}
complete -o default -F _visor visor
`;
}

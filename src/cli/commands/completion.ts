import { Argument, type Command } from 'commander';
import { completionScript, type CompletionShell } from '../completionScript.ts';

/** `visor completion bash|zsh`: prints a completion script made from this very program. */
export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh) for visor, made from its own commands and options')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .action((shell: CompletionShell) => {
      process.stdout.write(completionScript(program, shell));
    });
}

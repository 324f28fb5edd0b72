import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { historyTable } from '../output/historyTable.ts';

export function registerHistoryCommand(program: Command, session: CliSession): void {
  program
    .command('history')
    .description('list each change of an image: who, when, which fields, old → new')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const entries = await (await session.visor()).history(id);
      session.output.result(entries, () => historyTable(entries));
    });
}

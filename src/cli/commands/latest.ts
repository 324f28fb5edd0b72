import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { imageSheet } from '../output/imageSheet.ts';

export function registerLatestCommand(program: Command, session: CliSession): void {
  program
    .command('latest')
    .description('show the newest available image of a series')
    .argument('<series>', 'series name')
    .action(async (series: string) => {
      const image = await (await session.visor()).latest(series);
      session.output.result(image, () => imageSheet(image));
    });
}

import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { imageSheet } from '../output/imageSheet.ts';

export function registerLatestCommand(program: Command, session: CliSession): void {
  program
    .command('latest')
    .description('show the newest available image of a series')
    .argument('<series>', 'series name')
    .option('--owner <name>', "whose images of the series (required when you see several owners' images in it)")
    .action(async (series: string, options: { owner?: string }) => {
      const image = await (await session.visor()).latest(series, options.owner === undefined ? {} : { owner: options.owner });
      session.output.result(image, () => imageSheet(image));
    });
}

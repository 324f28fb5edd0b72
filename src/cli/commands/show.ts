import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { imageSheet } from '../output/imageSheet.ts';

export function registerShowCommand(program: Command, session: CliSession): void {
  program
    .command('show')
    .description('show every field of one image')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const image = await (await session.visor()).get(id);
      session.output.result(image, () => imageSheet(image));
    });
}

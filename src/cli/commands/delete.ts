import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';

export function registerDeleteCommand(program: Command, session: CliSession): void {
  program
    .command('delete')
    .description('delete an image and its file')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const image = await (await session.visor()).delete(id);
      session.output.result(image, () => `deleted ${image.id} (${image.name})`);
    });
}

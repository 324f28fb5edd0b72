import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';

export function registerInspectCommand(program: Command, session: CliSession): void {
  program
    .command('inspect')
    .description("inspect an available image's file (for images uploaded before format inspection): read once, judged like an upload; a refused file puts the image in error (owner or admin)")
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const image = await (await session.visor()).inspect(id);
      const found = image.inspection;
      session.output.result(image, () =>
        found
          ? `${image.id}: ${found.format}, virtual size ${found.virtual_size} bytes${found.cluster_size !== undefined ? `, cluster size ${found.cluster_size}` : ''}${found.compat !== undefined ? `, compat ${found.compat}` : ''}`
          : `${image.id}: ${image.status}`,
      );
    });
}

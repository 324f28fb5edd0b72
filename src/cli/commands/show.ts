import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { imageSheet } from '../output/imageSheet.ts';
import { endorsementLines } from '../output/endorsementLines.ts';

export function registerShowCommand(program: Command, session: CliSession): void {
  program
    .command('show')
    .description('show every field of one image')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const visor = await session.visor();
      const image = await visor.get(id);
      // A daemon without endorsements (an older version) still shows the image.
      const endorsements = await visor.endorsements(id).catch(() => undefined);
      session.output.result(image, () => [imageSheet(image), ...(endorsements ? ['endorsements', ...endorsementLines(endorsements).map((l) => `  ${l}`)] : [])].join('\n'));
    });
}

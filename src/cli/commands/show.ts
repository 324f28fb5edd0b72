import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { imageSheet } from '../output/imageSheet.ts';
import { endorsementLines, trustLines } from '../output/endorsementLines.ts';

export function registerShowCommand(program: Command, session: CliSession): void {
  program
    .command('show')
    .description('show every field of one image')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const visor = await session.visor();
      const image = await visor.get(id);
      // A daemon without endorsements (an older version) still shows the image.
      const trust = await visor.trust(id).catch(() => undefined);
      const flagged = trust ? [...trustLines(trust), ...trust.flags.map((f) => `flagged: ${f.message}`), ...trust.warnings.map((w) => `warning: ${w}`)] : [];
      session.output.result(image, () => [imageSheet(image), ...(trust ? ['endorsements', ...endorsementLines(trust.endorsements).map((l) => `  ${l}`), ...flagged] : [])].join('\n'));
    });
}

import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { mergeProperties, parseAssignment, planUpdate } from '../fieldAssignments.ts';
import { imageSheet } from '../output/imageSheet.ts';

interface UpdateOptions {
  ifMatch?: string;
}

export function registerUpdateCommand(program: Command, session: CliSession): void {
  program
    .command('update')
    .description('change fields of an image: field=value, tags=a,b, property.key=value, field= to remove')
    .argument('<id>', 'image id')
    .argument('<changes...>', 'field=value assignments')
    .option('--if-match <etag>', 'only update if the image still has this ETag')
    .action(async (id: string, changes: string[], options: UpdateOptions) => {
      const { patch, propertyChanges } = planUpdate(changes.map(parseAssignment));
      const client = await session.visor();
      let ifMatch = options.ifMatch;
      if (propertyChanges.size > 0) {
        // Changing one property must keep the others: merge into the current set, and send it with the
        // ETag it was read under so a concurrent edit fails (exit 4) instead of being overwritten.
        const current = await client.getWithETag(id);
        patch.properties = mergeProperties(current.image.properties, propertyChanges);
        ifMatch ??= current.etag;
      }
      const image = await client.update(id, patch, { ifMatch });
      session.output.result(image, () => imageSheet(image));
    });
}

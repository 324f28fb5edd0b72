import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { invalidInput } from '../CliError.ts';
import { assertImageId } from '../../catalog/CatalogLayout.ts';
import { imageSheet } from '../output/imageSheet.ts';

interface DeprecateOptions {
  reason?: string;
  replacedBy?: string;
  undo?: boolean;
}

/**
 * `visor deprecate`: the owner retires an image. It stays served; it, and every image built on it,
 * is flagged with the reason and the replacement (visor verify, GET /images/:id/endorsements, and a
 * site's trust policy decides what to do with deprecated images). A change of the record, so it is
 * reviewed with it and kept by history.
 */
export function registerDeprecateCommand(program: Command, session: CliSession): void {
  program
    .command('deprecate')
    .description('retire an image (its owner): still served, flagged with the reason and replacement, as is every image built on it; --undo withdraws it')
    .argument('<id>', 'image id')
    .option('--reason <text>', 'why (required unless --undo)')
    .option('--replaced-by <id>', 'the image to use instead')
    .option('--undo', 'withdraw the deprecation')
    .action(async (id: string, options: DeprecateOptions) => {
      assertImageId(id);
      if (options.undo) {
        if (options.reason !== undefined || options.replacedBy !== undefined) throw invalidInput('--undo takes no --reason or --replaced-by');
      } else if (options.reason === undefined || options.reason.trim() === '') throw invalidInput('deprecate needs --reason <text>');
      if (options.replacedBy !== undefined) assertImageId(options.replacedBy);
      const deprecation = options.undo ? null : { reason: options.reason!.trim(), ...(options.replacedBy ? { replaced_by: options.replacedBy } : {}) };
      const image = await (await session.visor()).update(id, { deprecation });
      session.output.result(image, () => imageSheet(image));
    });
}

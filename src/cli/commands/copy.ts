import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { CliError } from '../CliError.ts';

interface CopyOptions {
  to?: string;
  move?: boolean;
}

export function registerCopyCommand(program: Command, session: CliSession): void {
  program
    .command('copy')
    .description("copy an image's file to another store, verified on arrival (safe to interrupt and run again)")
    .argument('<id>', 'image id')
    .requiredOption('--to <store>', 'store to copy to')
    .option('--move', 'then drop the other locations (and their files)')
    .action(async (id: string, options: CopyOptions) => {
      if (!options.to) throw new CliError('--to <store> is required');
      const image = await (await session.visor()).copy(id, options.to, { move: options.move === true });
      session.output.result(image, () => `${image.id}: ${options.move ? 'moved' : 'copied'} to ${options.to}; locations ${(image.locations ?? []).map((l) => l.store).join(', ')}`);
    });

  program
    .command('link')
    .description('register a file already in a store as the image\'s file: by URL (http store) or store and key; it is read once to verify')
    .argument('<id>', 'image id')
    .argument('[url]', 'URL under a configured http store')
    .option('--store <store>', 'store holding the object')
    .option('--key <key>', 'object key in that store')
    .option('--checksum <alg:hex>', 'expected digest')
    .action(async (id: string, url: string | undefined, options: { store?: string; key?: string; checksum?: string }) => {
      if ((url === undefined) === (options.store === undefined || options.key === undefined)) throw new CliError('give a URL, or --store and --key');
      const target = url !== undefined ? { url } : { store: options.store!, key: options.key! };
      const image = await (await session.visor()).link(id, target, options.checksum ? { checksum: options.checksum } : {});
      session.output.result(image, () => `${image.id}: ${image.status}, ${image.size} bytes, ${image.checksum}; locations ${(image.locations ?? []).map((l) => `${l.store}:${l.key}`).join(', ')}`);
    });
}

import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import type { HiddenImage } from '../../api/wire.ts';

const line = (h: HiddenImage) => `${h.id}\t${h.at}\t${h.by}\t${h.reason}`;

/** The site policy over followed images: `visor hide`, `visor unhide`, `visor hidden` (admins). */
export function registerHideCommands(program: Command, session: CliSession): void {
  program
    .command('hide')
    .description("stop offering another instance's image here; its record stays as its instance wrote it")
    .argument('<id>', 'image id (it may not have arrived yet)')
    .requiredOption('--reason <text>', 'why this site does not offer it')
    .action(async (id: string, options: { reason: string }) => {
      const h = await (await session.visor()).hide(id, options.reason);
      session.output.result(h, () => `hidden ${h.id}: ${h.reason}`);
    });
  program
    .command('unhide')
    .description('offer a hidden image again')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const h = await (await session.visor()).unhide(id);
      session.output.result(h, () => `offered again ${h.id} (hidden by ${h.by} at ${h.at}: ${h.reason})`);
    });
  program
    .command('hidden')
    .description('the images of other instances this site does not offer')
    .action(async () => {
      const all = await (await session.visor()).hidden();
      session.output.result(all, () => all.map(line).join('\n'));
    });
}

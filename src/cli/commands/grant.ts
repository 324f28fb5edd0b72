import { Argument, type Command } from 'commander';
import type { Grantee, ImageGrantsView, Permission } from '../../access/Permission.ts';
import { invalidInput } from '../CliError.ts';
import type { CliSession } from '../CliSession.ts';

interface GranteeOptions {
  user?: string;
  group?: string;
}

function granteeOf(options: GranteeOptions): Grantee {
  if ((options.user === undefined) === (options.group === undefined)) throw invalidInput('name exactly one of --user <name> or --group <name>');
  return options.user !== undefined ? { kind: 'user', name: options.user } : { kind: 'group', name: options.group! };
}

function grantsText(g: ImageGrantsView): string {
  const lines = [`image ${g.image} (${g.access}), owner ${g.owner}`];
  for (const [name, p] of Object.entries(g.users)) lines.push(`  user ${name}: ${p}`);
  for (const [name, p] of Object.entries(g.groups)) lines.push(`  group ${name}: ${p}`);
  if (lines.length === 1) lines.push('  no grants: only the owner and admins can see it, unless it is public');
  return lines.join('\n');
}

/** `visor grant`, `visor revoke`, `visor grants`: the owner shares an image with users and groups. */
export function registerGrantCommands(program: Command, session: CliSession): void {
  program
    .command('grant')
    .description('let a user or group check out (see, download) or commit (also change, upload) an image')
    .argument('<id>', 'image id')
    .addArgument(new Argument('<permission>', 'checkout or commit').choices(['checkout', 'commit']))
    .option('--user <name>', 'grant to this user')
    .option('--group <name>', 'grant to this group')
    .action(async (id: string, permission: Permission, options: GranteeOptions) => {
      const g = await (await session.visor()).grant(id, granteeOf(options), permission);
      session.output.result(g, () => grantsText(g));
    });

  program
    .command('revoke')
    .description("withdraw a user's or group's permission on an image")
    .argument('<id>', 'image id')
    .option('--user <name>', 'revoke from this user')
    .option('--group <name>', 'revoke from this group')
    .action(async (id: string, options: GranteeOptions) => {
      const g = await (await session.visor()).revoke(id, granteeOf(options));
      session.output.result(g, () => grantsText(g));
    });

  program
    .command('grants')
    .description('show who may check out or commit an image')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const g = await (await session.visor()).grants(id);
      session.output.result(g, () => grantsText(g));
    });
}

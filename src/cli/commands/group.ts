import type { Command } from 'commander';
import type { GroupView } from '../../accounts/Account.ts';
import type { CliSession } from '../CliSession.ts';
import { groupTable } from '../output/accountTables.ts';

/** `visor group …`: groups of accounts, which image owners can grant permissions to (admins). */
export function registerGroupCommand(program: Command, session: CliSession): void {
  const group = program.command('group').description('manage groups of accounts (admins)');

  group
    .command('create')
    .description('create an empty group')
    .argument('<group>', 'group name')
    .action(async (name: string) => {
      const g = await (await session.visor()).createGroup(name);
      session.output.result(g, () => `created group ${g.name}`);
    });

  group
    .command('delete')
    .description('delete a group and every grant made to it')
    .argument('<group>', 'group name')
    .action(async (name: string) => {
      const g = await (await session.visor()).deleteGroup(name);
      session.output.result(g, () => `deleted group ${g.name}`);
    });

  group
    .command('add')
    .description('add users to a group')
    .argument('<group>', 'group name')
    .argument('<users...>', 'account names')
    .action(async (name: string, users: string[]) => {
      const client = await session.visor();
      let g: GroupView | undefined;
      for (const u of users) g = await client.addGroupMember(name, u);
      session.output.result(g, () => `${g!.name}: ${g!.members.join(', ')}`);
    });

  group
    .command('remove')
    .description('remove users from a group')
    .argument('<group>', 'group name')
    .argument('<users...>', 'account names')
    .action(async (name: string, users: string[]) => {
      const client = await session.visor();
      let g: GroupView | undefined;
      for (const u of users) g = await client.removeGroupMember(name, u);
      session.output.result(g, () => `${g!.name}: ${g!.members.join(', ') || '(no members)'}`);
    });

  group
    .command('list')
    .description('list groups and their members')
    .action(async () => {
      const groups = await (await session.visor()).groups();
      session.output.result(groups, () => groupTable(groups));
    });
}

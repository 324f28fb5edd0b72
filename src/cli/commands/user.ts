import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { collect } from '../optionParsers.ts';
import { issuedKeyText, userSheet, userTable } from '../output/accountTables.ts';

interface AddOptions {
  admin?: boolean;
  sync?: boolean;
  group?: string[];
}

/** `visor user …`: account administration (admins), and `visor whoami`. */
export function registerUserCommand(program: Command, session: CliSession): void {
  const user = program.command('user').description('manage user accounts (admins)');

  user
    .command('add')
    .description('create an account and print its API key, once')
    .argument('<name>', 'account name: a-z first, then a-z 0-9 . _ -')
    .option('--admin', 'give the account the admin role')
    .option('--sync', 'give the account the sync role: it may trigger upstream syncs (POST /sync) and nothing else')
    .option('--group <group>', 'add the account to a group (repeatable)', collect)
    .action(async (name: string, options: AddOptions) => {
      const issued = await (await session.visor()).addUser({ name, role: options.admin ? 'admin' : options.sync ? 'sync' : 'user', ...(options.group ? { groups: options.group } : {}) });
      session.output.result(issued, () => issuedKeyText(issued, 'created'));
    });

  user
    .command('list')
    .description('list accounts')
    .action(async () => {
      const users = await (await session.visor()).users();
      session.output.result(users, () => userTable(users));
    });

  user
    .command('show')
    .description('show one account (never its key)')
    .argument('<name>', 'account name')
    .action(async (name: string) => {
      const u = await (await session.visor()).user(name);
      session.output.result(u, () => userSheet(u));
    });

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    user
      .command(verb)
      .description(disabled ? 'refuse the account\'s key until it is enabled again' : 'accept the account\'s key again')
      .argument('<name>', 'account name')
      .action(async (name: string) => {
        const u = await (await session.visor()).setUserDisabled(name, disabled);
        session.output.result(u, () => `${verb}d ${u.name}`);
      });
  }

  user
    .command('remove')
    .description('delete an account, its key, its group memberships and grants; the name is not reused')
    .argument('<name>', 'account name')
    .action(async (name: string) => {
      const u = await (await session.visor()).removeUser(name);
      session.output.result(u, () => `removed ${u.name}`);
    });

  user
    .command('rotate-key')
    .description('replace the account\'s key (the old one stops working at once) and print the new one, once')
    .argument('<name>', 'account name (your own, unless you are an admin)')
    .action(async (name: string) => {
      const issued = await (await session.visor()).rotateKey(name);
      session.output.result(issued, () => issuedKeyText(issued, 'new key for'));
    });

  program
    .command('whoami')
    .description('show the account your key belongs to')
    .action(async () => {
      const me = await (await session.visor()).whoami();
      session.output.result(me, () => (me.name === null ? 'anonymous (no key given)' : userSheet(me)));
    });
}

import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { registerListing } from '../imageListing.ts';

export function registerListCommand(program: Command, session: CliSession): void {
  registerListing(program, session, false);
}

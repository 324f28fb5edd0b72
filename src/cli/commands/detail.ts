import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import { registerListing } from '../imageListing.ts';

export function registerDetailCommand(program: Command, session: CliSession): void {
  registerListing(program, session, true);
}

import { homedir } from 'node:os';
import type { Command } from 'commander';
import type { VisorClient } from '../client/VisorClient.ts';
import { resolveConnection, type ConnectionSettings } from './connectionSettings.ts';
import { Output } from './output/Output.ts';

/** The options every command accepts. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/**
 * What commands share: the parsed global options, the output mode and a client built on first use
 * (commands like `catalog validate` never need a daemon, so they never resolve a token).
 */
export class CliSession {
  connection: ConnectionSettings | undefined;
  private readonly program: Command;
  private client: VisorClient | undefined;

  constructor(program: Command) {
    this.program = program;
  }

  get output(): Output {
    return new Output(this.options().json === true);
  }

  /** The daemon URL and key in use, worked out once (src/cli/connectionSettings.ts decides). */
  async connectionSettings(): Promise<ConnectionSettings> {
    if (this.connection) return this.connection;
    const { url, token } = this.options();
    this.connection = await resolveConnection({ flags: { url, token }, env: process.env, homeDir: homedir() });
    return this.connection;
  }

  async visor(): Promise<VisorClient> {
    if (this.client) return this.client;
    // The client is loaded here, not at start (`visor serve` never needs it), while the connection is worked out.
    const [connection, { VisorClient }] = await Promise.all([this.connectionSettings(), import('../client/VisorClient.ts')]);
    // No retries: a person or a script sees a down daemon at once and decides what to do.
    this.client = new VisorClient({ url: connection.url, token: connection.token, retries: 0 });
    return this.client;
  }

  private options(): GlobalOptions {
    return this.program.opts<GlobalOptions>();
  }
}

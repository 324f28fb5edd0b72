import { readFile } from 'node:fs/promises';
import { invalidField } from '../errors/VisorError.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';
import type { AccountStore } from './AccountStore.ts';
import { generateApiKey, parseApiKey } from './ApiKey.ts';
import { hashSecret } from './SecretHash.ts';

/** The first admin account: its key is the token a fresh installation prints once. */
export const FIRST_ADMIN = 'admin';

/**
 * `<data_dir>/admin-token` (mode 0600): the key of the first admin account, so `visor` works without
 * set-up on the daemon's own machine. Before user accounts existed it was the daemon's only
 * credential; such a token is taken over as the admin account's key, so it keeps working.
 */
export class AdminTokenFile {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  async read(): Promise<string | undefined> {
    try {
      return (await readFile(this.path, 'utf8')).trim() || undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /**
   * On the first start with an empty account store, creates the admin account from the token file
   * (writing a new token if there is none). Answers the token and whether it is new (to print once).
   */
  async bootstrap(accounts: AccountStore, hashCost: number): Promise<{ token: string | undefined; created: boolean }> {
    let token = await this.read();
    if (!accounts.isEmpty) return { token, created: false };
    let created = false;
    if (token === undefined) {
      token = generateApiKey().token;
      await writeFileAtomic(this.path, `${token}\n`, 0o600);
      created = true;
    }
    const key = parseApiKey(token);
    if (!key) throw invalidField('admin-token', 'format', 'a token written by visor', `${this.path} does not hold a visor token; remove it to have a new one made`);
    const hash = await hashSecret(key.token, hashCost);
    const now = new Date().toISOString();
    await accounts.change((draft) => {
      draft.users[FIRST_ADMIN] = { role: 'admin', disabled: false, created_at: now, key: { id: key.id, hash, created_at: now } };
    });
    return { token, created };
  }

  /** Keeps the file usable when the key it holds is rotated through the API. */
  async replaceKey(oldKeyId: string, token: string): Promise<void> {
    const current = await this.read().catch(() => undefined);
    if (current !== undefined && parseApiKey(current)?.id === oldKeyId) await writeFileAtomic(this.path, `${token}\n`, 0o600);
  }
}


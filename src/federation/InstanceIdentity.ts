import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { invalidField } from '../errors/VisorError.ts';
import { readJsonState } from '../localstate/readJsonState.ts';
import { writeFileAtomic } from '../localstate/writeFileAtomic.ts';

/** An instance's name, as records' `origin` carries it (the schema's pattern). */
export const INSTANCE_NAME = /^[a-z0-9]([a-z0-9.-]{0,126}[a-z0-9])?$/;

/** The fields that say whose a record is. */
export interface OwnedRecord {
  owner: string;
  origin?: string | undefined;
}

/**
 * Which instance this is, and so which records are its own. Account names mean something only on
 * the instance that made them: `alice` here and `alice` on an upstream are two people. A record names
 * the instance whose accounts own it (`origin`, set at creation); records of another origin are that
 * instance's to change, and this one's accounts (admins included) hold no authority over them. A
 * record that names no origin predates the field and belongs to whoever holds it.
 *
 * The name is chosen once, at the first start (`instance_name`, or a random one), and kept in the
 * data directory: renaming an instance would hand its own records to a stranger instance's name.
 */
export class InstanceIdentity {
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  static async open(dataDir: string, configured: string | undefined): Promise<InstanceIdentity> {
    const file = join(dataDir, 'instance.json');
    const saved = (await readJsonState(file, 'instance_name')) as { name?: unknown } | undefined;
    if (saved !== undefined) {
      if (typeof saved.name !== 'string' || !INSTANCE_NAME.test(saved.name)) throw invalidField('instance_name', 'pattern', 'a saved instance name', `${file} holds no valid instance name; restore it from a backup`);
      if (configured !== undefined && configured !== saved.name) {
        throw invalidField('instance_name', 'unchanged', saved.name, `instance_name: this data directory belongs to instance ${saved.name}; an instance cannot be renamed (its records name it as their origin)`);
      }
      return new InstanceIdentity(saved.name);
    }
    const name = configured ?? `visor-${randomBytes(5).toString('hex')}`;
    await writeFileAtomic(file, `${JSON.stringify({ name })}\n`);
    return new InstanceIdentity(name);
  }

  /** The record belongs to this instance's accounts. */
  isHome(r: OwnedRecord): boolean {
    return r.origin === undefined || r.origin === this.name;
  }

  /** The owner as this instance names them: `alice` for its own accounts, `alice@origin` for another instance's. */
  ownerName(r: OwnedRecord): string {
    return this.isHome(r) ? r.owner : `${r.owner}@${r.origin}`;
  }
}

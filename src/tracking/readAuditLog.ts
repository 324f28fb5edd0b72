import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditEntry } from './AuditEntry.ts';
import { auditFiles } from './AuditLog.ts';

/** Every entry of an audit directory, oldest first, streamed (rotated files included). */
export async function* readAuditLog(dir: string): AsyncGenerator<AuditEntry> {
  for (const file of await auditFiles(dir)) {
    const lines = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line === '') continue;
      try {
        yield JSON.parse(line) as AuditEntry;
      } catch {
        // A line cut by a crash mid-write; the rest of the file is still good.
      }
    }
  }
}

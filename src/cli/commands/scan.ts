import type { Command } from 'commander';
import type { ImageView } from '../../api/ImageRecord.ts';
import type { CliSession } from '../CliSession.ts';

/** One line of what the malware scan found. */
export function describeScan(image: ImageView): string {
  const s = image.scan;
  if (!s) return `${image.id}: not scanned`;
  const by = [s.engine, s.database_version ? `database ${s.database_version}` : undefined].filter(Boolean).join(', ');
  const what = s.verdict === 'infected' ? `infected: ${s.signature}${s.released_at ? ` (released by ${s.released_by} at ${s.released_at})` : ' (quarantined)'}` : s.verdict === 'clean' ? 'clean' : `no verdict (${s.verdict}): ${s.reason}`;
  return `${image.id}: ${what}; scanned ${s.scanned_at}${by ? ` by ${by}` : ''}`;
}

export function registerScanCommands(program: Command, session: CliSession): void {
  program
    .command('scan')
    .description("scan an available image's file for malware now with the daemon's ClamAV (owner or admin); an infected file is quarantined")
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const image = await (await session.visor()).scan(id);
      session.output.result(image, () => describeScan(image));
    });
  program
    .command('release')
    .description('let a quarantined image be served again (admins); its finding stays on the record')
    .argument('<id>', 'image id')
    .action(async (id: string) => {
      const image = await (await session.visor()).release(id);
      session.output.result(image, () => describeScan(image));
    });
}

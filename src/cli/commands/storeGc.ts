import type { Command } from 'commander';
import type { CliSession } from '../CliSession.ts';
import type { StoreGcReport } from '../../client/VisorClient.ts';
import { formatBytes } from '../output/formatBytes.ts';

interface GcOptions {
  dryRun?: boolean;
  olderThan: string;
  unreferenced?: boolean;
}

/** Seconds from "90", "90s", "15m", "2h" or "7d". */
function seconds(text: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text);
  if (!m) throw new Error(`--older-than: expected a duration such as 30m, 2h or 7d, got ${text}`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

function describe(r: StoreGcReport): string {
  const lines = [`${r.store} (${r.type}): ${r.incomplete.length} unfinished write(s), ${r.unreferenced.length} unreferenced object(s)${r.dry_run ? ' (dry run: nothing removed)' : ''}`];
  for (const w of r.incomplete) lines.push(`  unfinished ${w.key} ${w.id}${w.bytes !== undefined ? ` ${formatBytes(w.bytes)}` : ''}${w.started ? ` since ${w.started}` : ''}${w.removed ? ' removed' : ''}`);
  for (const o of r.unreferenced) lines.push(`  unreferenced ${o.key} ${formatBytes(o.size)}${o.removed ? ' removed' : ''}`);
  for (const e of r.errors) lines.push(`  error: ${e}`);
  return lines.join('\n');
}

export function registerStoreCommand(program: Command, session: CliSession): void {
  const store = program.command('store').description('storage back-ends of the daemon');

  store
    .command('list')
    .description('the configured stores')
    .action(async () => {
      const s = await (await session.visor()).stores();
      session.output.result(s, () => s.stores.map((x) => `${x.name}\t${x.type}${x.writable ? '' : ' (read-only)'}${x.name === s.default ? ' (default)' : ''}`).join('\n'));
    });

  store
    .command('gc')
    .description('remove what crashed writes left in stores: unfinished multipart uploads, orphaned segments, temporary files')
    .argument('[stores...]', 'store names (default: all)')
    .option('--dry-run', 'report only')
    .option('--older-than <duration>', 'leave leftovers younger than this (e.g. 30m, 2h, 7d)', '1h')
    .option('--unreferenced', 'also delete objects that no image location names')
    .action(async (names: string[], options: GcOptions) => {
      const client = await session.visor();
      const targets = names.length > 0 ? names : (await client.stores()).stores.filter((s) => s.writable).map((s) => s.name);
      const olderThanSeconds = seconds(options.olderThan);
      const reports: StoreGcReport[] = [];
      for (const name of targets) reports.push(await client.collectStoreGarbage(name, { dryRun: options.dryRun === true, olderThanSeconds, unreferenced: options.unreferenced === true }));
      session.output.result(reports, () => reports.map(describe).join('\n'));
    });
}

import Table from 'cli-table3';
import type { HistoryEntry } from '../../catalog/ImageHistory.ts';

function shown(value: unknown): string {
  if (value === undefined) return '∅';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** One row per change: when, who, what, and each field as old → new. */
export function historyTable(entries: readonly HistoryEntry[]): string {
  if (entries.length === 0) return 'no history';
  const table = new Table({ head: ['DATE', 'AUTHOR', 'CHANGE', 'FIELDS', 'COMMIT'], style: { head: [], border: [] } });
  for (const e of entries) {
    const fields = e.fields.filter((f) => f.field !== 'updated_at').map((f) => `${f.field}: ${shown(f.old)} → ${shown(f.new)}`);
    table.push([e.date, e.author, e.change, fields.join('\n'), e.commit.slice(0, 12)]);
  }
  return table.toString();
}

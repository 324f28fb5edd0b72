/**
 * Parses the text wrk prints with --latency into JSON (one line on stdout).
 *
 *   node test/bench/parseWrk.ts WRK_OUTPUT_FILE
 *
 * Times come back in milliseconds. Exits 1 when the text has no "Requests/sec" line.
 */
import { readFileSync } from 'node:fs';

export interface WrkResult {
  requests: number;
  duration_s: number;
  requests_per_sec: number;
  transfer_per_sec: string | null;
  latency_ms: { avg: number | null; stdev: number | null; max: number | null; p50: number | null; p75: number | null; p90: number | null; p99: number | null };
  non_2xx_3xx: number;
  socket_errors: { connect: number; read: number; write: number; timeout: number };
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "1.23ms" / "456.00us" / "2.01s" / "1.00m" → milliseconds. */
export function toMs(text: string): number | null {
  const m = /^([\d.]+)(ns|us|ms|s|m|h)$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** "10.00s" / "1.00m" → seconds. */
function toSeconds(text: string): number {
  const ms = toMs(text);
  return ms === null ? Number.NaN : ms / 1000;
}

export function parseWrk(text: string): WrkResult {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  if (!rps) throw new Error('no "Requests/sec" line in wrk output');
  const total = /^\s*(\d+) requests in ([\d.]+\w+),/m.exec(text);
  const lat = /^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+\S+/m.exec(text);
  const pct = (p: string): number | null => {
    const m = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(text);
    return m ? toMs(m[1] as string) : null;
  };
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)/m.exec(text);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const transfer = /^Transfer\/sec:\s+(\S+)/m.exec(text);
  return {
    requests: total ? Number(total[1]) : 0,
    duration_s: total ? toSeconds(total[2] as string) : Number.NaN,
    requests_per_sec: Number(rps[1]),
    transfer_per_sec: transfer ? (transfer[1] as string) : null,
    latency_ms: {
      avg: lat ? toMs(lat[1] as string) : null,
      stdev: lat ? toMs(lat[2] as string) : null,
      max: lat ? toMs(lat[3] as string) : null,
      p50: pct('50'),
      p75: pct('75'),
      p90: pct('90'),
      p99: pct('99'),
    },
    non_2xx_3xx: non2xx ? Number(non2xx[1]) : 0,
    socket_errors: sock
      ? { connect: Number(sock[1]), read: Number(sock[2]), write: Number(sock[3]), timeout: Number(sock[4]) }
      : { connect: 0, read: 0, write: 0, timeout: 0 },
  };
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: parseWrk.ts WRK_OUTPUT_FILE\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${JSON.stringify(parseWrk(readFileSync(file, 'utf8')))}\n`);
  } catch (e) {
    process.stderr.write(`parseWrk: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

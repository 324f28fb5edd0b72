import { invalidField } from '../errors/VisorError.ts';
import { parseClamdAddress, type ClamdAddress } from './ClamdClient.ts';

export const SCAN_MODES = ['off', 'async', 'blocking'] as const;
export type ScanMode = (typeof SCAN_MODES)[number];

/** [scanning]: malware scanning with ClamAV's clamd. */
export interface ScanningConfig {
  /** off; async: an upload is available at once and scanned after; blocking: available only once scanned clean. */
  mode: ScanMode;
  /** clamd's socket: a unix socket path, or tcp://127.0.0.1:3310. */
  clamd: ClamdAddress;
  /** The scheduled scan over all images starts a pass this long after the last one ended (0: no schedule). */
  scheduleSeconds: number;
  /** The pause between two files of the scheduled scan: the engine and the stores are never kept busy. */
  pauseMs: number;
  /**
   * clamd's StreamMaxLength (clamd.conf), which must be set alike: a longer file is too large to scan
   * (blocking: refused; async: recorded so), said by VISOR before clamd would cut the stream.
   */
  maxStreamBytes: number;
  /** How long clamd may stay silent (reading, or scanning the end of a stream) before the scan is an error. */
  timeoutSeconds: number;
}

export interface ScanningSettings {
  mode?: string;
  socket?: string;
  schedule_seconds?: number;
  pause_ms?: number;
  timeout_seconds?: number;
  max_stream_bytes?: number;
}

export const SCANNING_KEYS = ['mode', 'socket', 'schedule_seconds', 'pause_ms', 'timeout_seconds', 'max_stream_bytes'] as const;

/** The Debian package's socket (clamav-daemon). */
const DEBIAN_SOCKET = '/run/clamav/clamd.ctl';

export function parseScanningConfig(s: ScanningSettings, env: NodeJS.ProcessEnv, integer: (value: unknown, field: string, min: number, max?: number) => number): ScanningConfig {
  const mode = env['VISOR_SCANNING_MODE'] ?? s.mode ?? 'off';
  if (!(SCAN_MODES as readonly string[]).includes(mode)) throw invalidField('scanning.mode', 'enum', SCAN_MODES.join(', '));
  const socket = env['VISOR_SCANNING_SOCKET'] ?? s.socket ?? DEBIAN_SOCKET;
  const clamd = typeof socket === 'string' ? parseClamdAddress(socket) : undefined;
  if (!clamd) throw invalidField('scanning.socket', 'pattern', 'an absolute unix socket path, or tcp://host:port');
  return {
    mode: mode as ScanMode,
    clamd,
    scheduleSeconds: integer(env['VISOR_SCANNING_SCHEDULE_SECONDS'] ?? s.schedule_seconds ?? 0, 'scanning.schedule_seconds', 0, 365 * 86400),
    pauseMs: integer(s.pause_ms ?? 1000, 'scanning.pause_ms', 0, 3_600_000),
    // clamd's own default StreamMaxLength (25M); at most 4 GiB, clamd's ceiling.
    maxStreamBytes: integer(env['VISOR_SCANNING_MAX_STREAM_BYTES'] ?? s.max_stream_bytes ?? 25 * 2 ** 20, 'scanning.max_stream_bytes', 1, 2 ** 32 - 1),
    timeoutSeconds: integer(s.timeout_seconds ?? 600, 'scanning.timeout_seconds', 1, 86400),
  };
}

import { VisorClientError } from '../client/VisorClientError.ts';
import { missingKeyHint, type ConnectionSettings } from './connectionSettings.ts';

/** Transport failures that mean nothing listens where the CLI looked. */
const NOTHING_LISTENS = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'EADDRNOTAVAIL']);

/**
 * What to tell someone after a failed request, beyond the error itself: how to reach or start a
 * daemon when none answered, and where keys come from when the one sent (or none) was refused.
 * Nothing when the error speaks for itself or no request was made.
 */
export function errorHints(error: unknown, connection: ConnectionSettings | undefined): string[] {
  if (!(error instanceof VisorClientError) || connection === undefined) return [];
  if (error.code === 'transport') {
    const cause = (error.cause as NodeJS.ErrnoException | undefined)?.code;
    if (cause === undefined || !NOTHING_LISTENS.has(cause)) return [];
    return [
      `no VISOR daemon answers at ${connection.url} (taken from ${connection.urlFrom})`,
      'start one with `visor serve` (`npm start` in a checkout), or name a running one with --url or VISOR_URL',
    ];
  }
  if (error.status !== 401) return [];
  if (connection.token === undefined) return missingKeyHint(connection) ?? [];
  const from = { flag: '--token', env: 'VISOR_TOKEN', login: `${connection.credentialsPath} (visor login)`, config: connection.configPath, 'admin-token': connection.adminToken?.path ?? 'the admin-token file', none: '' }[connection.tokenSource];
  return [
    `${connection.origin} refused the key from ${from}: it is unknown there, disabled or mistyped`,
    "keys come from the daemon's admins: `visor user add NAME` prints a new account's key once, `visor user rotate-key NAME` replaces a lost one; a new daemon prints its first admin key once and keeps it in <data dir>/admin-token",
  ];
}

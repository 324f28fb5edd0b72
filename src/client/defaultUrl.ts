/** Where a client looks for a daemon when told nothing: the daemon's own default address. */
export const DEFAULT_VISOR_URL = 'http://127.0.0.1:4568';

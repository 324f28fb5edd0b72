import packageJson from 'visor/package.json' with { type: 'json' };

/** The package's version, read from its package.json: `visor --version`, the User-Agent and the API document say it. */
export const VISOR_VERSION: string = packageJson.version;

/** What VISOR's own HTTP clients (the CLI, VisorClient) call themselves. */
export const VISOR_USER_AGENT = `visor/${VISOR_VERSION}`;

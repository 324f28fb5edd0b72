#!/usr/bin/env node
// First, before anything that needs Node 24: under an older Node it explains and exits.
import '../src/cli/requireNode.ts';

// The `visor` program: the CLI's commands (src/cli) and `serve`, which runs this daemon. It sits
// above both edges, so the CLI never imports the daemon. Node keeps compiled code on disk (its
// compile cache): later runs of the daemon, the CLI and the hooks skip most module compilation.
// node:module is imported here, not at the top: an older Node's module lacks enableCompileCache.
const { enableCompileCache } = await import('node:module');
enableCompileCache();
const { runVisor } = await import('../src/cli/program.ts');
process.exitCode = await runVisor(process.argv.slice(2), [{ names: ['serve'], load: async () => (await import('./serveCommand.ts')).registerServeCommand }]);

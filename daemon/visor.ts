#!/usr/bin/env node
import { enableCompileCache } from 'node:module';

// The `visor` program: the CLI's commands (src/cli) and `serve`, which runs this daemon. It sits
// above both edges, so the CLI never imports the daemon. Node keeps compiled code on disk (its
// compile cache): later runs of the daemon, the CLI and the hooks skip most module compilation.
enableCompileCache();
const { runVisor } = await import('../src/cli/program.ts');
process.exitCode = await runVisor(process.argv.slice(2), [{ names: ['serve'], load: async () => (await import('./serveCommand.ts')).registerServeCommand }]);
